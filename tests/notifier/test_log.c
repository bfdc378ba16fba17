/*
 * test_log.c — the log's escaping (notifier/log.c, log_escape): what a
 * client chose (ids, Origins) reaches the log as one line of printable
 * text, unambiguous, never with half an escape or half a character.
 */
#include "check.h"
#include "log.h"

#include <string.h>

/* IN (LEN bytes) escaped into a buffer of SIZE bytes equals WANT. */
static void
expect(const char *in, size_t len, size_t size, const char *want)
{
	char out[256];
	size_t n;

	memset(out, '#', sizeof(out));
	n = log_escape(out, size, in, len);
	CHECK_MSG(n == strlen(out) && strcmp(out, want) == 0,
			  "escaped into %zu bytes: got \"%s\" (%zu), want \"%s\"", size,
			  out, n, want);
	CHECK_MSG(out[size] == '#', "wrote past %zu bytes", size);
}

#define EXPECT(in, want) expect(in, sizeof(in) - 1, 200, want)

int
main(void)
{
	/* printable text, UTF-8 included, as it is */
	EXPECT("client 42 (Otter-7) closed", "client 42 (Otter-7) closed");
	EXPECT("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		   "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	/* C0 controls, DEL: a client id "\u0001\n" cannot start a line */
	EXPECT("id \x01\n", "id \\x01\\x0a");
	EXPECT("\x1b[31mred\x7f", "\\x1b[31mred\\x7f");
	EXPECT("tab\there\r", "tab\\x09here\\x0d");
	/* a backslash is doubled: a literal "\x0a" is not a newline's escape */
	EXPECT("a\\x0a", "a\\\\x0a");
	/* C1 controls (CSI U+009B), separators, bidi overrides: each byte */
	EXPECT("\xc2\x9b"
		   "2J",
		   "\\xc2\\x9b2J");
	EXPECT("x\xe2\x80\xa8y", "x\\xe2\\x80\\xa8y");
	EXPECT("\xe2\x80\xaegnp.exe", "\\xe2\\x80\\xaegnp.exe");
	EXPECT("\xe2\x81\xa6", "\\xe2\\x81\\xa6");
	/* ill-formed UTF-8: each byte escaped, what follows kept */
	EXPECT("\xff", "\\xff");
	EXPECT("\xc0\xaf/", "\\xc0\\xaf/");		   /* overlong */
	EXPECT("\xed\xa0\x80", "\\xed\\xa0\\x80"); /* a surrogate */
	EXPECT("end \xe2\x82", "end \\xe2\\x82");  /* cut short */
	/* a NUL inside the text is escaped, not an end */
	expect("a\0b", 3, 200, "a\\x00b");

	/* too long: an escape or a character is left out whole */
	expect("ab\x01", 3, 6, "ab");
	expect("ab\x01", 3, 7, "ab\\x01");
	expect("a\xe2\x82\xac", 4, 4, "a");
	expect("a\xe2\x82\xac", 4, 5, "a\xe2\x82\xac");
	expect("a\\", 2, 3, "a");
	expect("abc", 3, 1, "");
	return check_summary("test_log");
}
