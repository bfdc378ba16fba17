SELECT collab.length(collab.content('read'));
