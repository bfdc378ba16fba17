-- collab.notify_key seals announcements (docs/documents.md, "Sealed
-- payloads"); the sealing itself is checked by tests/notifier/test_contract.c
-- against the notifier's verification.  Here: the key is a superuser's
-- secret, set in the configuration only, and too short a key is refused.
LOAD 'collab';
-- too short: refused, nothing written
ALTER SYSTEM SET collab.notify_key = 'too short';
-- not a session setting
SET collab.notify_key = '0123456789abcdef0123456789abcdef';
-- hidden from roles that are not superusers
CREATE ROLE collab_no_key;
SET ROLE collab_no_key;
SHOW collab.notify_key;
SELECT current_setting('collab.notify_key');
RESET ROLE;
DROP ROLE collab_no_key;
