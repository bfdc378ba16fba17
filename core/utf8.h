/*
 * utf8.h — UTF-8 decoding and UTF-16 counting shared by the core's modules,
 * and by the notifier where it must not split or pass on ill-formed text
 * (the log's escaping, error texts cut to a length).
 *
 * Strings handed to these helpers have been validated by the JSON parser
 * except where a function says it validates.
 */
#ifndef COLLAB_CORE_UTF8_H
#define COLLAB_CORE_UTF8_H

#include <stddef.h>
#include <stdint.h>

/*
 * Decodes one code point from s (n > 0 bytes available) into *cp and
 * returns the bytes it takes, or 0 when s does not start with a well-formed
 * UTF-8 sequence (overlong forms, surrogates and values past U+10FFFF are
 * ill-formed).
 */
static inline size_t
utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned char c = s[0];

	if (c < 0x80)
	{
		*cp = c;
		return 1;
	}
	if (c >= 0xC2 && c <= 0xDF)
	{
		if (n < 2 || (s[1] & 0xC0) != 0x80)
			return 0;
		*cp = ((uint32_t) (c & 0x1F) << 6) | (s[1] & 0x3F);
		return 2;
	}
	if (c >= 0xE0 && c <= 0xEF)
	{
		unsigned char lo = (c == 0xE0) ? 0xA0 : 0x80;
		unsigned char hi = (c == 0xED) ? 0x9F : 0xBF;

		if (n < 3 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80)
			return 0;
		*cp = ((uint32_t) (c & 0x0F) << 12) | ((uint32_t) (s[1] & 0x3F) << 6) |
			  (s[2] & 0x3F);
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4)
	{
		unsigned char lo = (c == 0xF0) ? 0x90 : 0x80;
		unsigned char hi = (c == 0xF4) ? 0x8F : 0xBF;

		if (n < 4 || s[1] < lo || s[1] > hi || (s[2] & 0xC0) != 0x80 ||
			(s[3] & 0xC0) != 0x80)
			return 0;
		*cp = ((uint32_t) (c & 0x07) << 18) |
			  ((uint32_t) (s[1] & 0x3F) << 12) |
			  ((uint32_t) (s[2] & 0x3F) << 6) | (s[3] & 0x3F);
		return 4;
	}
	return 0;
}

/* Bytes of the sequence a valid lead byte starts. */
static inline size_t
utf8_seq_len(unsigned char lead)
{
	if (lead < 0x80)
		return 1;
	if (lead < 0xE0)
		return 2;
	if (lead < 0xF0)
		return 3;
	return 4;
}

/* UTF-16 code units of valid UTF-8 text: 4-byte sequences count 2. */
static inline int64_t
utf8_utf16_length(const char *text, size_t bytes)
{
	const unsigned char *s = (const unsigned char *) text;
	int64_t units = 0;
	size_t i;

	for (i = 0; i < bytes; i++)
	{
		/* every byte that is not a continuation starts one unit; a 4-byte
		 * lead starts two */
		if ((s[i] & 0xC0) != 0x80)
			units += (s[i] >= 0xF0) ? 2 : 1;
	}
	return units;
}

/* Encodes cp (a valid scalar value) into out (4 bytes); returns bytes. */
static inline size_t
utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80)
	{
		out[0] = (char) cp;
		return 1;
	}
	if (cp < 0x800)
	{
		out[0] = (char) (0xC0 | (cp >> 6));
		out[1] = (char) (0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000)
	{
		out[0] = (char) (0xE0 | (cp >> 12));
		out[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char) (0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char) (0xF0 | (cp >> 18));
	out[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char) (0x80 | (cp & 0x3F));
	return 4;
}

#endif
