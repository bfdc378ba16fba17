-- a fresh 1 MB document for the read test
SELECT collab.create_document('read', collab.content('big', 0));
