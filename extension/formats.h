/*
 * formats.h — which embeds and attributes a change may use (formats.c;
 * settings collab.allowed_embeds and collab.allowed_attributes, defined in
 * collab.c with these hooks).
 */
#ifndef COLLAB_FORMATS_H
#define COLLAB_FORMATS_H

#include "postgres.h"

#include "utils/guc.h"

#include "delta.h"

/*
 * Quill's own: the embeds and formats its standard build registers,
 * without video (an iframe of any URL).  alt, height and width are the
 * attributes of its image embed.
 */
#define FORMATS_EMBEDS_DEFAULT "image, formula"
#define FORMATS_ATTRIBUTES_DEFAULT \
	"align, alt, background, blockquote, bold, code, code-block, color, " \
	"direction, font, header, height, indent, italic, link, list, script, " \
	"size, strike, underline, width"

extern char *collab_allowed_embeds;
extern char *collab_allowed_attributes;

/* GUC hooks: a list of names separated by commas, "*" (any) or "" (none) */
bool formats_check_list(char **newval, void **extra, GucSource source);
void formats_assign_embeds(const char *newval, void *extra);
void formats_assign_attributes(const char *newval, void *extra);

/*
 * Raises 22023 when d inserts an embed, or sets an attribute (to anything
 * but null: removing one is always allowed), that the settings do not allow;
 * what names d in the message ("change", "content").
 */
void formats_check(const delta *d, const char *what);

#endif
