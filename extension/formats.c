/*
 * formats.c — which embeds and attributes a change may use.
 *
 * Everything a change inserts ends up in every editor that opens the
 * document, and Quill renders what its formats know: an unchecked document
 * could carry a video embed (an iframe of any URL) to every reader.  So the
 * embeds and the attributes a change may set are named by two settings,
 * collab.allowed_embeds and collab.allowed_attributes, lists of names
 * separated by commas, with "*" for any name and "" for none.  The defaults
 * are Quill's standard formats and its image and formula embeds.
 *
 * Setting an attribute to null removes it, and is always allowed, so a
 * document written before a name was taken off the list can be cleaned.
 * Names compare byte for byte, as the keys of the JSON do.
 *
 * Each list is parsed once, by the setting's check hook, into a block the
 * GUC machinery owns (malloc'd, freed by it when the value goes).
 */
#include "postgres.h"

#include "mb/pg_wchar.h"

#include "formats.h"

char *collab_allowed_embeds;
char *collab_allowed_attributes;

/* A parsed list: any name, or the names (pointing into the same block). */
typedef struct name_list {
	bool any;
	int count;
	const char *names[FLEXIBLE_ARRAY_MEMBER];
} name_list;

static const name_list *allowed_embeds;
static const name_list *allowed_attributes;

static bool
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
		   c == '\v';
}

bool
formats_check_list(char **newval, void **extra, GucSource source)
{
	const char *value = *newval ? *newval : "";
	size_t len = strlen(value);
	int slots = 1;
	name_list *list;
	char *copy;
	char *p;
	char *end;

	(void) source;
	for (p = (char *) value; *p; p++)
		slots += *p == ',';
	list =
		malloc(offsetof(name_list, names) + slots * sizeof(char *) + len + 1);
	if (list == NULL)
	{
		GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
		GUC_check_errmsg("out of memory");
		return false;
	}
	copy = (char *) &list->names[slots];
	memcpy(copy, value, len + 1);
	list->any = false;
	list->count = 0;
	for (p = copy; is_space(*p); p++)
		;
	/* all blank: no names at all; otherwise every piece between commas is
	 * a name */
	while (*p != '\0')
	{
		char *name = p;
		bool more;

		for (; *p && *p != ','; p++)
			;
		more = *p == ',';
		end = p;
		if (more)
			p++;
		for (; is_space(*name); name++)
			;
		while (end > name && is_space(end[-1]))
			end--;
		*end = '\0';
		if (*name == '\0')
		{
			GUC_check_errdetail("A name is missing before or after a comma.");
			free(list);
			return false;
		}
		if (strcmp(name, "*") == 0)
			list->any = true;
		list->names[list->count++] = name;
		if (more && *p == '\0')
		{
			GUC_check_errdetail("A name is missing before or after a comma.");
			free(list);
			return false;
		}
	}
	if (list->any && list->count > 1)
	{
		GUC_check_errdetail("\"*\" allows every name and stands alone.");
		free(list);
		return false;
	}
	*extra = list;
	return true;
}

void
formats_assign_embeds(const char *newval, void *extra)
{
	(void) newval;
	allowed_embeds = extra;
}

void
formats_assign_attributes(const char *newval, void *extra)
{
	(void) newval;
	allowed_attributes = extra;
}

static bool
allowed(const name_list *list, const char *key, size_t key_len)
{
	int i;

	if (list == NULL || list->any)
		return true;
	for (i = 0; i < list->count; i++)
		if (strlen(list->names[i]) == key_len &&
			memcmp(list->names[i], key, key_len) == 0)
			return true;
	return false;
}

/* A key for a message: in the server's encoding, at most 64 bytes. */
static char *
key_for_message(const char *key, size_t key_len)
{
	char *utf8 = pnstrdup(key, key_len);
	char *name = pg_any_to_server(utf8, strlen(utf8), PG_UTF8);

	return pnstrdup(name, pg_mbcliplen(name, strlen(name), 64));
}

void
formats_check(const delta *d, const char *what)
{
	size_t i;
	size_t k;

	for (i = 0; i < d->count; i++)
	{
		const delta_op *op = &d->ops[i];

		if (op->embed != NULL && op->embed->type == DJSON_OBJECT)
			for (k = 0; k < op->embed->u.object.count; k++)
			{
				const djson_member *m = &op->embed->u.object.members[k];

				if (!allowed(allowed_embeds, m->key, m->key_len))
					ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
							errmsg("embed \"%s\" is not allowed",
								   key_for_message(m->key, m->key_len)),
							errdetail("ops[%zu] of the %s inserts it; "
									  "collab.allowed_embeds is \"%s\".",
									  i, what, collab_allowed_embeds));
			}
		if (op->attributes == NULL)
			continue;
		for (k = 0; k < op->attributes->u.object.count; k++)
		{
			const djson_member *m = &op->attributes->u.object.members[k];

			if (m->value->type != DJSON_NULL &&
				!allowed(allowed_attributes, m->key, m->key_len))
				ereport(ERROR, errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						errmsg("attribute \"%s\" is not allowed",
							   key_for_message(m->key, m->key_len)),
						errdetail("ops[%zu] of the %s sets it; "
								  "collab.allowed_attributes is \"%s\".",
								  i, what, collab_allowed_attributes));
		}
	}
}
