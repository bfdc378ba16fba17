-- a fresh 1 MB document for the read test, snapshot every 100 revisions
SELECT collab.create_document('read', collab.content('big', 0));
