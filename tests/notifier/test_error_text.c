/*
 * test_error_text.c — error texts as clients receive them
 * (notifier/protocol.c): cut to PROTO_ERROR_TEXT_MAX bytes on a character
 * boundary, never half a UTF-8 sequence (a text frame that is not UTF-8
 * makes a browser fail the whole connection), whether the text was long,
 * cut before (a parse error quoting a client's type), or ill-formed.
 */
#include "check.h"
#include "protocol.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* Whether TEXT[0..LEN) is well-formed UTF-8: jansson checks it. */
static bool
utf8_ok(const char *text, size_t len)
{
	json_t *s = json_stringn(text, len);

	json_decref(s);
	return s != NULL;
}

/* The "message" of proto_error(MESSAGE) as the client parses it; "" when
 * the message is not JSON (not UTF-8). */
static void
error_text(const char *message, char *out, size_t size)
{
	msg *m = proto_error("bad_message", message, NULL, -1, NULL);
	json_t *root = m ? json_loadb(msg_text(m), m->len, 0, NULL) : NULL;
	const char *text = json_string_value(json_object_get(root, "message"));

	snprintf(out, size, "%s", text ? text : "");
	json_decref(root);
	msg_unref(m);
}

int
main(void)
{
	char big[4 * PROTO_ERROR_TEXT_MAX], got[4 * PROTO_ERROR_TEXT_MAX];
	request req;
	char errbuf[160];
	char type_msg[128];

	/* the prefix: whole characters, and stops before ill-formed bytes */
	CHECK(proto_text_prefix("abc", 10) == 3);
	CHECK(proto_text_prefix("abc", 2) == 2);
	CHECK(proto_text_prefix("a\xe2\x82\xac", 3) == 1); /* not half of € */
	CHECK(proto_text_prefix("a\xe2\x82\xac", 4) == 4);
	CHECK(proto_text_prefix("\xf0\x9f\x98\x80!", 3) == 0);
	CHECK(proto_text_prefix("ok\xe2\x82", 100) == 2); /* cut short before */
	CHECK(proto_text_prefix("ok\xff rest", 100) == 2);

	/* a long text of three-byte characters: cut, and still UTF-8 */
	big[0] = 'x';
	for (size_t i = 1; i + 3 < sizeof(big); i += 3)
		memcpy(big + i, "\xe2\x82\xac", 3);
	big[1 + 3 * ((sizeof(big) - 5) / 3)] = '\0';
	error_text(big, got, sizeof(got));
	CHECK_MSG(strlen(got) > PROTO_ERROR_TEXT_MAX - 3 &&
				  strlen(got) <= PROTO_ERROR_TEXT_MAX,
			  "a long text is cut to %d bytes: %zu", PROTO_ERROR_TEXT_MAX,
			  strlen(got));
	CHECK(utf8_ok(got, strlen(got)));
	CHECK(memcmp(got, big, strlen(got)) == 0);

	/* a text someone cut mid-character before: the half is dropped */
	error_text("cut \xe2\x82", got, sizeof(got));
	CHECK_MSG(strcmp(got, "cut ") == 0, "got \"%s\"", got);

	/* a client's unknown type, quoted at 40 bytes: whole characters and the
	 * closing quote */
	snprintf(type_msg, sizeof(type_msg), "{\"type\":\"%s\"}",
			 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9\xc3\xa9");
	CHECK(proto_parse(type_msg, strlen(type_msg), &req, errbuf,
					  sizeof(errbuf)) == -1);
	proto_request_free(&req);
	CHECK_MSG(strcmp(errbuf,
					 "unknown message type "
					 "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"") == 0,
			  "got %s", errbuf);
	CHECK(utf8_ok(errbuf, strlen(errbuf)));
	return check_summary("test_error_text");
}
