/*
 * proto_fetch.c — reading a revision (docs/protocol.md, "Reading a
 * revision"): fetch needs no subscription, answers with the content, its
 * HTML and the request's id as sent (any JSON value), and its errors carry
 * that id too.
 */
#include "harness.h"

#include <stdlib.h>
#include <string.h>

/*
 * A fetch of a past revision, of revision 0 and of the head (without rev)
 * answers with that revision's content, collab.to_html of it (escaped) and
 * the id, whatever JSON it is.
 */
static void
test_fetch_returns_content_html_and_id(void)
{
	const char *doc = doc_name("fetch"), *hi = doc_name("fetch-hi");
	const char *p[1] = {doc}, *phi[1] = {hi};
	wsc *b = connect_to('b');
	json_t *m;
	char *content;

	free(hello(b));
	PQclear(sql("SELECT collab.create_document($1)", 1, phi));
	PQclear(
		sql("SELECT collab.submit($1, 0, '[{\"insert\":\"Hi\"}]')", 1, phi));
	PQclear(sql("SELECT collab.submit($1, 1, '[{\"retain\":2},"
				"{\"insert\":\"!\"}]')",
				1, phi));
	wsc_sendf(b, "{\"type\":\"fetch\",\"doc\":\"%s\",\"rev\":1,\"id\":[7]}",
			  hi);
	m = expect(b, "content", "fetch");
	if (m)
	{
		json_t *want =
			json_loads("{\"ops\":[{\"insert\":\"Hi\\n\"}]}", 0, NULL);

		check(int_of(m, "rev") == 1 &&
				  json_equal(json_object_get(m, "content"), want) &&
				  strcmp(str_of(m, "html"), "<p>Hi</p>") == 0 &&
				  json_is_array(json_object_get(m, "id")),
			  "fetch returns revision 1's content, its HTML and the id");
		json_decref(want);
		json_decref(m);
	}

	PQclear(sql("SELECT collab.create_document($1, "
				"'[{\"insert\":\"Title\"},{\"insert\":\"\\n\","
				"\"attributes\":{\"header\":1}}]')",
				1, p));
	PQclear(
		sql("SELECT collab.submit($1, 0, '[{\"insert\":\"<b>\"}]')", 1, p));
	wsc_sendf(b, "{\"type\":\"fetch\",\"doc\":\"%s\",\"id\":\"q1\"}", doc);
	m = expect(b, "content", "fetch without rev");
	content = sql_content(doc);
	check(m && int_of(m, "rev") == 1 && strcmp(str_of(m, "id"), "q1") == 0 &&
			  same_json(json_object_get(m, "content"), content, "content") &&
			  strcmp(str_of(m, "html"), "<h1>&lt;b&gt;Title</h1>") == 0,
		  "fetch without rev: the head (revision 1), escaped HTML (%s), the "
		  "id",
		  m ? str_of(m, "html") : "");
	json_decref(m);
	free(content);
	wsc_sendf(b, "{\"type\":\"fetch\",\"doc\":\"%s\",\"rev\":0,\"id\":2}",
			  doc);
	m = expect(b, "content", "fetch of revision 0");
	check(m && int_of(m, "rev") == 0 && int_of(m, "id") == 2 &&
			  same_json(json_object_get(m, "content"),
						"{\"ops\":[{\"insert\":\"Title\"},{\"insert\":"
						"\"\\n\",\"attributes\":{\"header\":1}}]}",
						"content"),
		  "fetch of revision 0: the content the document was created with");
	json_decref(m);
	wsc_free(b);
}

/*
 * A fetch of a missing document is not_found, of a revision after the head
 * invalid_revision (with the doc); both echo the id, null included.
 */
static void
test_fetch_errors_echo_id(void)
{
	const char *doc = doc_name("fetch-err");
	const char *p[1] = {doc};
	wsc *b = connect_to('b');
	json_t *m;

	free(hello(b));
	PQclear(sql("SELECT collab.create_document($1)", 1, p));
	PQclear(sql("SELECT collab.submit($1, 0, '[{\"insert\":\"x\"}]')", 1, p));
	wsc_sendf(b, "{\"type\":\"fetch\",\"doc\":\"%s\",\"rev\":50}", doc);
	expect_error(b, "invalid_revision", doc,
				 "fetch of a revision after the head");
	wsc_sendf(b, "{\"type\":\"fetch\",\"doc\":\"%s\",\"id\":{\"k\":[true]}}",
			  doc_name("nofetch"));
	m = expect(b, "error", "fetch of a missing document");
	check(m && strcmp(str_of(m, "code"), "not_found") == 0 &&
			  same_json(json_object_get(m, "id"), "{\"k\":[true]}", "id"),
		  "fetch of a missing document: not_found with the id echoed");
	json_decref(m);
	wsc_sendf(b, "{\"type\":\"fetch\",\"doc\":\"%s\",\"rev\":2,\"id\":null}",
			  doc);
	m = expect(b, "error", "fetch after the head");
	check(m && strcmp(str_of(m, "code"), "invalid_revision") == 0 &&
			  json_object_get(m, "id") &&
			  json_is_null(json_object_get(m, "id")),
		  "fetch after the head: invalid_revision with the id (null) echoed");
	json_decref(m);
	wsc_free(b);
}

const harness_test proto_fetch[] = {
	{"fetch_returns_content_html_and_id",
	 test_fetch_returns_content_html_and_id},
	{"fetch_errors_echo_id", test_fetch_errors_echo_id},
	{NULL, NULL},
};
