-- Formats (docs/documents.md, "Formats"): a change may insert only the
-- embeds collab.allowed_embeds names and set only the attributes
-- collab.allowed_attributes names; anything else is refused (22023) and
-- nothing is written.  The defaults are Quill's standard formats and its
-- image and formula embeds: no video (an iframe of any URL).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS collab;
RESET client_min_messages;
SET collab.snapshot_worker = off;

SHOW collab.allowed_embeds;
SHOW collab.allowed_attributes;

-- everything the demo's Quill (2.0, snow theme) writes
SELECT collab.create_document('f1', '[
  {"insert":"Title"},{"insert":"\n","attributes":{"header":1}},
  {"insert":"bold","attributes":{"bold":true,"italic":true,"underline":true,"strike":true}},
  {"insert":" code","attributes":{"code":true,"script":"sub","color":"#f00","background":"#0f0","font":"serif","size":"large"}},
  {"insert":" link","attributes":{"link":"https://x.test/"}},
  {"insert":{"image":"https://x.test/a.png"},"attributes":{"alt":"a","width":"10","height":"20"}},
  {"insert":{"formula":"e=mc^2"}},
  {"insert":"\n","attributes":{"list":"bullet","indent":1,"align":"center","direction":"rtl"}},
  {"insert":"quote"},{"insert":"\n","attributes":{"blockquote":true}},
  {"insert":"x = 1"},{"insert":"\n","attributes":{"code-block":"plain"}}]');
SELECT collab.head('f1');

-- a video embed: refused, in a submit and in a create
SELECT rev FROM collab.submit('f1', 0, '[{"retain":2},{"insert":{"video":"https://evil.test/frame"}}]');
SELECT collab.create_document('f2', '[{"insert":{"video":"https://evil.test/frame"}},{"insert":"\n"}]');
SELECT collab.create_document('f2', '[{"insert":{"image":"a.png","video":"b"}}]');
-- an attribute Quill does not know: refused, on text, on an embed, in a
-- retain, however it is spelt
SELECT rev FROM collab.submit('f1', 0, '[{"insert":"x","attributes":{"onclick":"alert(1)"}}]');
SELECT rev FROM collab.submit('f1', 0, '[{"insert":{"image":"a.png"},"attributes":{"style":"x"}}]');
SELECT rev FROM collab.submit('f1', 0, '[{"retain":3,"attributes":{"bold":true,"Bold":true}}]');
SELECT rev FROM collab.submit('f1', 0, '[{"retain":3,"attributes":{"meta":{"k":[1,2]}}}]');
SELECT collab.create_document('f2', '[{"insert":"x","attributes":{"data-x":"1"}}]');
-- nothing was written
SELECT collab.head('f1'), to_regclass('collab.documents') IS NOT NULL AS ok,
       (SELECT count(*) FROM collab.documents WHERE doc_id = 'f2') AS f2;
-- the SQLSTATE
DO $$
BEGIN
  PERFORM collab.submit('f1', 0, '[{"insert":{"video":"v"}}]');
EXCEPTION WHEN invalid_parameter_value THEN
  RAISE NOTICE '%: %', SQLSTATE, SQLERRM;
END $$;
-- removing an attribute (null) is always allowed: a document written under
-- another list can be cleaned
SELECT rev FROM collab.submit('f1', 0, '[{"retain":3,"attributes":{"meta":null,"bold":true}}]');

-- the lists: names separated by commas (spaces around them do not count),
-- "*" for any, empty for none
SET collab.allowed_embeds = 'image, video';
SHOW collab.allowed_embeds;
SELECT rev FROM collab.submit('f1', 1, '[{"insert":{"video":"https://v.test/1"}}]');
SET collab.allowed_embeds = image;
SELECT rev FROM collab.submit('f1', 2, '[{"insert":{"formula":"x"}}]');
SET collab.allowed_embeds = '';
SELECT rev FROM collab.submit('f1', 2, '[{"insert":{"image":"a.png"}}]');
SELECT rev FROM collab.submit('f1', 2, '[{"insert":"text is always allowed"}]');
SET collab.allowed_embeds = '*';
SELECT rev FROM collab.submit('f1', 3, '[{"insert":{"anything":{"at":"all"}}}]');
SET collab.allowed_attributes = bold, 'code-block', meta;
SHOW collab.allowed_attributes;
SELECT rev FROM collab.submit('f1', 4, '[{"retain":3,"attributes":{"meta":{"k":[1,2]}}}]');
SELECT rev FROM collab.submit('f1', 5, '[{"retain":3,"attributes":{"italic":true}}]');
SET collab.allowed_attributes = '*';
SELECT rev FROM collab.submit('f1', 5, '[{"retain":3,"attributes":{"x-anything":true}}]');
SET collab.allowed_attributes = ' ';
SELECT rev FROM collab.submit('f1', 6, '[{"retain":3,"attributes":{"bold":true}}]');
-- malformed lists are refused, and the setting stays as it was
SET collab.allowed_attributes = 'bold,';
SET collab.allowed_attributes = 'bold,,italic';
SET collab.allowed_attributes = ',bold';
SET collab.allowed_attributes = '*, bold';
SHOW collab.allowed_attributes;
RESET collab.allowed_attributes;
RESET collab.allowed_embeds;
-- superusers' settings
CREATE ROLE regress_collab_formats;
SET ROLE regress_collab_formats;
SET collab.allowed_embeds = '*';
RESET ROLE;
DROP ROLE regress_collab_formats;

SELECT collab.to_text(collab.content('f1'));
SELECT collab.delete_document('f1');
