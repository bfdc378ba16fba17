/*
 * test_contract.c — the database and the notifier agree on what crosses
 * between them (core/wire.h), checked against a real database.
 *
 * A subscriber receives a change either as the NOTIFY payload the
 * extension wrote (forwarded as it is) or as the message the notifier
 * encodes from its own submit's reply or from collab.changes.  For the
 * same revision the two must carry the same fields, in the same order,
 * with equal values: ids with quotes, backslashes, control characters and
 * astral characters; with and without a client; and a change too big for
 * a payload, announced by reference and fetched.  collab.contract() (the
 * installed extension) must state the limits this notifier was built with.
 *
 *   test_contract CONNINFO      (libpq's environment when empty)
 */
#include "check.h"
#include "protocol.h"

#include <jansson.h>
#include <libpq-fe.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static PGconn *db;

/* Runs SQL with text parameters; the result, or NULL after reporting. */
static PGresult *
run(const char *sql, int n, const char *const *params)
{
	PGresult *res = PQexecParams(db, sql, n, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(res) != PGRES_TUPLES_OK &&
		PQresultStatus(res) != PGRES_COMMAND_OK)
	{
		fprintf(stderr, "%s: %s", sql, PQerrorMessage(db));
		PQclear(res);
		return NULL;
	}
	return res;
}

/* collab.notify_key as the server has it ("" when payloads go unsealed) */
static char *key;
static int sealed, unsealed;

/* Whether PAYLOAD announces something of DOC. */
static bool
about(const char *payload, const char *doc)
{
	const char *seal;
	json_t *j = json_loads(wire_unseal(payload, &seal), 0, NULL);
	const char *d = json_string_value(json_object_get(j, "doc"));
	bool yes = d && strcmp(d, doc) == 0;

	json_decref(j);
	return yes;
}

/* With a key, SEAL (the payload's, or NULL) is MESSAGE's HMAC-SHA256. */
static void
check_seal(const char *seal, const char *message)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char hex[WIRE_SEAL_HEX + 1];

	if (!key[0])
	{
		unsealed += seal == NULL;
		return;
	}
	HMAC(EVP_sha256(), key, (int) strlen(key), (const unsigned char *) message,
		 strlen(message), mac, &len);
	wire_seal_hex(mac, hex);
	sealed += seal && len == 32 && memcmp(seal, hex, WIRE_SEAL_HEX) == 0;
}

/* The next payload about DOC on channel collab (malloc'd), or NULL after
 * 5 s; others (another test's documents) are skipped. */
static char *
next_payload(const char *doc)
{
	for (int waited = 0; waited < 5000; waited += 50)
	{
		PGnotify *n;
		struct pollfd p = {.fd = PQsocket(db), .events = POLLIN};

		PQconsumeInput(db);
		if ((n = PQnotifies(db)) != NULL)
		{
			const char *seal;
			char *payload = NULL;

			if (strcmp(n->relname, WIRE_CHANNEL) == 0 && about(n->extra, doc))
			{
				payload = strdup(wire_unseal(n->extra, &seal));
				check_seal(seal, payload);
			}
			PQfreemem(n);
			if (payload)
				return payload;
			continue;
		}
		(void) poll(&p, 1, 50);
	}
	return NULL;
}

/*
 * Whether A and B have the same members in the same order with equal
 * values, leaving out the member SKIP (NULL: none) of both.
 */
static bool
same_fields(json_t *a, json_t *b, const char *skip, const char *what)
{
	void *ia = json_object_iter(a), *ib = json_object_iter(b);

	for (;;)
	{
		while (ia && skip && strcmp(json_object_iter_key(ia), skip) == 0)
			ia = json_object_iter_next(a, ia);
		while (ib && skip && strcmp(json_object_iter_key(ib), skip) == 0)
			ib = json_object_iter_next(b, ib);
		if (!ia || !ib)
			break;
		if (strcmp(json_object_iter_key(ia), json_object_iter_key(ib)) != 0 ||
			!json_equal(json_object_iter_value(ia),
						json_object_iter_value(ib)))
		{
			fprintf(stderr, "%s: field %s differs from %s\n", what,
					json_object_iter_key(ia), json_object_iter_key(ib));
			return false;
		}
		ia = json_object_iter_next(a, ia);
		ib = json_object_iter_next(b, ib);
	}
	if (ia || ib)
		fprintf(stderr, "%s: one has more fields (%s)\n", what,
				ia ? json_object_iter_key(ia) : json_object_iter_key(ib));
	return !ia && !ib;
}

/*
 * Submits CHANGE_JSON to DOC (as CLIENT with SEQ, or anonymously), then
 * compares the announcement with what the notifier encodes from the
 * submit's reply and from collab.changes.
 */
static void
check_change(const char *doc, const char *change_json, const char *client,
			 const char *seq, bool expect_body)
{
	const char *p[5] = {doc, change_json, client, seq};
	PGresult *sub, *log;
	char *payload;
	json_t *announced, *replied, *fetched;
	msg *from_reply, *from_log;
	int64_t rev;
	char since[24], until[24];

	sub = run("SELECT rev, change::text FROM collab.submit($1, "
			  "collab.head($1), $2::jsonb, $3, $4::bigint)",
			  4, p);
	CHECK_MSG(sub != NULL, "submit to %s", doc);
	if (!sub)
		return;
	rev = strtoll(PQgetvalue(sub, 0, 0), NULL, 10);
	payload = next_payload(doc);
	CHECK_MSG(payload != NULL, "an announcement of %s revision %lld", doc,
			  (long long) rev);
	snprintf(since, sizeof(since), "%lld", (long long) rev - 1);
	snprintf(until, sizeof(until), "%lld", (long long) rev);
	{
		const char *q[3] = {doc, since, until};

		log = run("SELECT rev, change::text, client_id, client_seq "
				  "FROM collab.changes($1, $2, $3)",
				  3, q);
	}
	CHECK(log && PQntuples(log) == 1);
	if (!payload || !log || PQntuples(log) != 1)
	{
		free(payload);
		PQclear(sub);
		PQclear(log);
		return;
	}
	from_reply = proto_change(doc, rev, PQgetvalue(sub, 0, 1), client,
							  seq ? strtoll(seq, NULL, 10) : -1);
	from_log =
		proto_change(doc, strtoll(PQgetvalue(log, 0, 0), NULL, 10),
					 PQgetvalue(log, 0, 1),
					 PQgetisnull(log, 0, 2) ? NULL : PQgetvalue(log, 0, 2),
					 PQgetisnull(log, 0, 3)
						 ? -1
						 : strtoll(PQgetvalue(log, 0, 3), NULL, 10));
	announced = json_loads(payload, 0, NULL);
	replied = from_reply ? json_loads(msg_text(from_reply), 0, NULL) : NULL;
	fetched = from_log ? json_loads(msg_text(from_log), 0, NULL) : NULL;
	CHECK_MSG(announced && replied && fetched, "three JSON messages for %s",
			  doc);
	if (announced && replied && fetched)
	{
		CHECK_MSG(same_fields(replied, fetched, NULL, doc),
				  "%s: the reply's message and the log's are the same", doc);
		CHECK_MSG((json_object_get(announced, "change") != NULL) ==
					  expect_body,
				  "%s: the announcement %s the change", doc,
				  expect_body ? "carries" : "leaves out (by reference)");
		CHECK_MSG(same_fields(announced, replied,
							  expect_body ? NULL : "change", doc),
				  "%s: the announcement and the notifier's message agree "
				  "field for field",
				  doc);
		CHECK_MSG(strlen(payload) <= WIRE_PAYLOAD_MAX,
				  "%s: the payload (%zu bytes) within WIRE_PAYLOAD_MAX", doc,
				  strlen(payload));
	}
	json_decref(announced);
	json_decref(replied);
	json_decref(fetched);
	msg_unref(from_reply);
	msg_unref(from_log);
	free(payload);
	PQclear(sub);
	PQclear(log);
}

/* collab.contract() states what this notifier was built with. */
static void
check_limits(void)
{
	PGresult *res = run("SELECT collab.contract()::text", 0, NULL);
	json_t *c = res ? json_loads(PQgetvalue(res, 0, 0), 0, NULL) : NULL;

	CHECK_MSG(c != NULL, "collab.contract() returns an object");
	if (c)
	{
		CHECK(strcmp(json_string_value(json_object_get(c, "channel")),
					 WIRE_CHANNEL) == 0);
		CHECK(json_integer_value(json_object_get(c, "version")) ==
			  WIRE_VERSION);
		CHECK(json_integer_value(json_object_get(c, "id_bytes_max")) ==
			  WIRE_ID_BYTES_MAX);
		CHECK(json_integer_value(json_object_get(c, "payload_max")) ==
			  WIRE_PAYLOAD_MAX);
	}
	json_decref(c);
	PQclear(res);
}

int
main(int argc, char **argv)
{
	char run_id[32];
	char plain[64], odd[128], big_doc[64], big[12000];
	const char *p[1];
	PGresult *res;

	db = PQconnectdb(argc > 1 ? argv[1] : "");
	if (PQstatus(db) != CONNECTION_OK)
	{
		fprintf(stderr, "test_contract: %s", PQerrorMessage(db));
		return 1;
	}
	snprintf(run_id, sizeof(run_id), "%lx", (unsigned long) getpid());
	PQclear(run("LISTEN " WIRE_CHANNEL, 0, NULL));
	res = run("SELECT current_setting('collab.notify_key', true)", 0, NULL);
	key = strdup(res && !PQgetisnull(res, 0, 0) ? PQgetvalue(res, 0, 0) : "");
	PQclear(res);
	check_limits();

	snprintf(plain, sizeof(plain), "contract-%s", run_id);
	/* a quote, a backslash, a control character, a tab, é and an emoji */
	snprintf(odd, sizeof(odd),
			 "contract \"q\" \\ \x01\t\xc3\xa9 \xf0\x9f\x98\x80 %s", run_id);
	snprintf(big_doc, sizeof(big_doc), "contract-big-%s", run_id);
	for (int i = 0; i < 3; i++)
	{
		p[0] = i == 0 ? plain : i == 1 ? odd : big_doc;
		res = run("SELECT collab.create_document($1)", 1, p);
		CHECK(res != NULL);
		PQclear(res);
	}
	check_change(plain,
				 "[{\"insert\":\"Hello\",\"attributes\":{\"bold\":true}}]",
				 "client-a", "1", true);
	check_change(plain,
				 "[{\"retain\":5},{\"insert\":\"\\n\\\"x\\\"\\u0001\"}]", NULL,
				 NULL, true);
	check_change(odd, "[{\"insert\":\"\xf0\x9f\x98\x80\"}]",
				 "client \"b\" \\ \x02 \xc3\xa9", "7", true);
	/* a change too big for a payload: announced by reference */
	strcpy(big, "[{\"insert\":\"");
	memset(big + strlen(big), 'x', 9000);
	strcpy(big + strlen("[{\"insert\":\"") + 9000, "\"}]");
	check_change(big_doc, big, "client-c", "2", false);

	CHECK_MSG(key[0] ? sealed == 4 : unsealed == 4,
			  "every announcement %s (%d of 4)",
			  key[0] ? "sealed with collab.notify_key" : "unsealed",
			  key[0] ? sealed : unsealed);
	free(key);
	PQfinish(db);
	return check_summary("contract");
}
