/*
 * test_wire.c — core/wire.c: the change message's fields and their order,
 * escaping, the payload cap (a change that would pass it goes by
 * reference), and seals (hex, and telling a sealed payload from others).
 */
#include "arena.h"
#include "check.h"
#include "wire.h"

#include <stdlib.h>
#include <string.h>

static char *
change_text(delta_arena *arena, const wire_change *c, bool fit)
{
	delta_buf buf;

	delta_buf_init(&buf, arena);
	if (wire_write_change(&buf, c, fit, NULL) != DELTA_OK ||
		delta_buf_append(&buf, "", 1, NULL) != DELTA_OK)
		return NULL;
	return buf.data;
}

static void
test_fields(void)
{
	delta_arena *arena = delta_arena_create(NULL);
	wire_change c = {.doc = "d\"1\n",
					 .doc_len = 4,
					 .rev = 42,
					 .client = "c\\7",
					 .client_len = 3,
					 .seq = 3,
					 .change = "{\"ops\":[]}",
					 .change_len = 10};
	char *text = change_text(arena, &c, true);

	CHECK(text && strcmp(text, "{\"type\":\"change\",\"doc\":\"d\\\"1\\n\","
							   "\"rev\":42,\"client\":\"c\\\\7\",\"seq\":3,"
							   "\"change\":{\"ops\":[]}}") == 0);
	c.client = NULL;
	text = change_text(arena, &c, true);
	CHECK(text && strstr(text, "\"client\":null,\"seq\":null,\"change\""));
	delta_arena_destroy(arena);
}

/* The longest message that fits is WIRE_PAYLOAD_MAX bytes; one more and it
 * goes without its change. */
static void
test_cap(void)
{
	delta_arena *arena = delta_arena_create(NULL);
	char *body = malloc(WIRE_PAYLOAD_MAX + 1);
	wire_change c = {.doc = "d", .doc_len = 1, .rev = 1, .change = body};
	size_t envelope;
	char *text;

	memset(body, ' ', WIRE_PAYLOAD_MAX); /* JSON white space */
	body[0] = '[';
	c.change_len = 1;
	body[WIRE_PAYLOAD_MAX] = '\0';
	text = change_text(arena, &c, true);
	/* [ then spaces then ]: the message without the change's bytes */
	envelope = strlen(text) - 1;
	c.change_len = WIRE_PAYLOAD_MAX - envelope;
	body[c.change_len - 1] = ']';
	text = change_text(arena, &c, true);
	CHECK(text && strlen(text) == WIRE_PAYLOAD_MAX &&
		  strstr(text, "\"change\":["));
	body[c.change_len - 1] = ' ';
	c.change_len++;
	body[c.change_len - 1] = ']';
	text = change_text(arena, &c, true);
	CHECK(text && strlen(text) < WIRE_PAYLOAD_MAX &&
		  !strstr(text, "\"change\":"));
	text = change_text(arena, &c, false); /* the notifier's: always whole */
	CHECK(text && strlen(text) == WIRE_PAYLOAD_MAX + 1);
	free(body);
	delta_arena_destroy(arena);
}

static void
test_seals(void)
{
	unsigned char mac[32];
	char hex[WIRE_SEAL_HEX + 1], payload[WIRE_SEAL_HEX + 16];
	const char *seal;

	for (int i = 0; i < 32; i++)
		mac[i] = (unsigned char) (i * 8 + 7);
	wire_seal_hex(mac, hex);
	CHECK(strlen(hex) == WIRE_SEAL_HEX && strncmp(hex, "070f171f", 8) == 0);
	snprintf(payload, sizeof(payload), "%s {}", hex);
	CHECK(strcmp(wire_unseal(payload, &seal), "{}") == 0 && seal == payload);
	CHECK(strcmp(wire_unseal("{\"type\":\"x\"}", &seal), "{\"type\":\"x\"}") ==
			  0 &&
		  seal == NULL);
	CHECK(strcmp(wire_unseal("", &seal), "") == 0 && seal == NULL);
	payload[3] = 'F'; /* upper case is not a seal */
	CHECK(wire_unseal(payload, &seal) == payload && seal == NULL);
	payload[3] = hex[3];
	payload[WIRE_SEAL_HEX] = 'x'; /* no space after the digits */
	CHECK(wire_unseal(payload, &seal) == payload && seal == NULL);
	payload[10] = '\0'; /* too short */
	CHECK(wire_unseal(payload, &seal) == payload && seal == NULL);
}

int
main(void)
{
	test_fields();
	test_cap();
	test_seals();
	return check_summary("wire");
}
