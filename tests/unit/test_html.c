/*
 * test_html.c — delta_to_html: the block and inline formats Quill uses, and
 * that nothing a document holds can inject markup or script.
 */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "delta.h"

static delta_arena *A;

static const char *
html(const char *json)
{
	static delta_error err;
	delta *d;
	char *out;
	size_t len;

	if (delta_parse(A, json, strlen(json), &d, &err) != DELTA_OK)
	{
		fprintf(stderr, "bad test input %s: %s\n", json, err.message);
		exit(2);
	}
	if (delta_to_html(A, d, &out, &len, &err) != DELTA_OK)
		return err.message;
	CHECK(strlen(out) == len);
	return out;
}

#define EXPECT(json, want) \
	do \
	{ \
		const char *got_ = html(json); \
		CHECK_MSG(strcmp(got_, (want)) == 0, "%s\n  got  %s\n  want %s", \
				  json, got_, want); \
	} while (0)

int
main(void)
{
	A = delta_arena_create(NULL);

	EXPECT("[]", "");
	EXPECT("[{\"insert\":\"Hello\\n\"}]", "<p>Hello</p>");
	EXPECT("[{\"insert\":\"a\\n\\nb\"}]", "<p>a</p><p><br></p><p>b</p>");
	EXPECT("[{\"insert\":\"B\",\"attributes\":{\"bold\":true,\"italic\":true,"
		   "\"underline\":true,\"strike\":true,\"code\":true}},{\"insert\":"
		   "\"n\\n\"}]",
		   "<p><strong><em><u><s><code>B</code></s></u></em></strong>n</p>");
	EXPECT("[{\"insert\":\"x\",\"attributes\":{\"bold\":false,\"italic\":null}"
		   "},{\"insert\":\"\\n\"}]",
		   "<p>x</p>");
	EXPECT(
		"[{\"insert\":\"site\",\"attributes\":{\"link\":\"https://a.test/"
		"?q=1&r=2\",\"bold\":true}},{\"insert\":\"\\n\"}]",
		"<p><a "
		"href=\"https://a.test/?q=1&amp;r=2\"><strong>site</strong></a></p>");
	EXPECT("[{\"insert\":\"Title\"},{\"insert\":\"\\n\",\"attributes\":{"
		   "\"header\":2}},{\"insert\":\"quote\"},{\"insert\":\"\\n\","
		   "\"attributes\":{\"blockquote\":true}}]",
		   "<h2>Title</h2><blockquote>quote</blockquote>");
	EXPECT("[{\"insert\":\"x\"},{\"insert\":\"\\n\",\"attributes\":{"
		   "\"header\":9}}]",
		   "<p>x</p>");
	/* lists: grouped, nested by indent, kinds switch */
	EXPECT("[{\"insert\":\"a\"},{\"insert\":\"\\n\",\"attributes\":{\"list\":"
		   "\"bullet\"}},"
		   "{\"insert\":\"b\"},{\"insert\":\"\\n\",\"attributes\":{\"list\":"
		   "\"bullet\",\"indent\":1}},"
		   "{\"insert\":\"c\"},{\"insert\":\"\\n\",\"attributes\":{\"list\":"
		   "\"bullet\"}},"
		   "{\"insert\":\"d\"},{\"insert\":\"\\n\",\"attributes\":{\"list\":"
		   "\"ordered\"}},"
		   "{\"insert\":\"after\\n\"}]",
		   "<ul><li>a<ul><li>b</li></ul></li><li>c</li></ul><ol><li>d</li></"
		   "ol><p>after</p>");
	EXPECT("[{\"insert\":\"deep\"},{\"insert\":\"\\n\",\"attributes\":{"
		   "\"list\":\"ordered\",\"indent\":2}}]",
		   "<ol><li><ol><li><ol><li>deep</li></ol></li></ol></li></ol>");
	EXPECT("[{\"insert\":\"done\"},{\"insert\":\"\\n\",\"attributes\":{"
		   "\"list\":\"checked\"}},{\"insert\":\"todo\"},{\"insert\":\"\\n\","
		   "\"attributes\":{\"list\":\"unchecked\"}}]",
		   "<ul><li data-checked=\"true\">done</li><li "
		   "data-checked=\"false\">todo</li></ul>");
	/* code blocks: one <pre>, text only */
	EXPECT("[{\"insert\":\"if (a < "
		   "b)\"},{\"insert\":\"\\n\",\"attributes\":{\"code-block\":\"js\"}},"
		   "{\"insert\":\"  "
		   "go\",\"attributes\":{\"bold\":true}},{\"insert\":\"\\n\","
		   "\"attributes\":{\"code-block\":\"js\"}},{\"insert\":\"end\\n\"}]",
		   "<pre data-language=\"js\">if (a &lt; b)\n  go</pre><p>end</p>");
	EXPECT("[{\"insert\":\"x\"},{\"insert\":\"\\n\",\"attributes\":{\"list\":"
		   "\"bullet\"}},{\"insert\":\"y\"},{\"insert\":\"\\n\","
		   "\"attributes\":{\"code-block\":true}}]",
		   "<ul><li>x</li></ul><pre>y</pre>");
	/* embeds */
	EXPECT("[{\"insert\":{\"image\":\"https://a.test/"
		   "i.png\"}},{\"insert\":{\"video\":\"https://"
		   "v\"}},{\"insert\":\"\\n\"}]",
		   "<p><img src=\"https://a.test/i.png\"></p>");
	EXPECT("[{\"insert\":{\"image\":\"data:image/"
		   "png;base64,AAAA\"}},{\"insert\":\"\\n\"}]",
		   "<p><img src=\"data:image/png;base64,AAAA\"></p>");

	/* nothing gets through unescaped */
	EXPECT("[{\"insert\":\"<script>alert('x')</script> & \\\"q\\\"\\n\"}]",
		   "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; "
		   "&quot;q&quot;</p>");
	EXPECT("[{\"insert\":\"x\",\"attributes\":{\"link\":\"javascript:alert(1)"
		   "\"}},{\"insert\":\"\\n\"}]",
		   "<p>x</p>");
	EXPECT("[{\"insert\":\"x\",\"attributes\":{\"link\":\" "
		   "\\u0001JaVa\\tScRiPt:alert(1)\"}},{\"insert\":\"\\n\"}]",
		   "<p>x</p>");
	EXPECT("[{\"insert\":\"x\",\"attributes\":{\"link\":\"data:text/"
		   "html,<b>\"}},{\"insert\":\"\\n\"}]",
		   "<p>x</p>");
	EXPECT("[{\"insert\":\"x\",\"attributes\":{\"link\":\"vbscript:x\"}},{"
		   "\"insert\":\"\\n\"}]",
		   "<p>x</p>");
	EXPECT("[{\"insert\":\"x\",\"attributes\":{\"link\":\"https://a.test/\\\" "
		   "onmouseover=\\\"alert(1)\"}},{\"insert\":\"\\n\"}]",
		   "<p><a href=\"https://a.test/&quot; "
		   "onmouseover=&quot;alert(1)\">x</a></p>");
	EXPECT("[{\"insert\":\"x\",\"attributes\":{\"link\":\"/relative/"
		   "path?a=b\"}},{\"insert\":\"\\n\"}]",
		   "<p><a href=\"/relative/path?a=b\">x</a></p>");
	EXPECT("[{\"insert\":\"x\",\"attributes\":{\"link\":\"mailto:a@b.test\"}},"
		   "{\"insert\":\"\\n\"}]",
		   "<p><a href=\"mailto:a@b.test\">x</a></p>");
	EXPECT("[{\"insert\":\"x\",\"attributes\":{\"link\":{\"href\":\"https://"
		   "a\"}}},{\"insert\":\"\\n\"}]",
		   "<p>x</p>");
	EXPECT("[{\"insert\":{\"image\":\"javascript:alert(1)\"}},{\"insert\":{"
		   "\"image\":\"data:image/svg+xml,<svg "
		   "onload=alert(1)>\"}},{\"insert\":\"\\n\"}]",
		   "<p></p>");
	EXPECT("[{\"insert\":\"c\"},{\"insert\":\"\\n\",\"attributes\":{\"code-"
		   "block\":\"\\\"><script>\"}}]",
		   "<pre data-language=\"&quot;&gt;&lt;script&gt;\">c</pre>");
	EXPECT("[{\"retain\":1}]",
		   "the document must contain only inserts, but ops[0] is a retain");

	delta_arena_destroy(A);
	return check_summary("html");
}
