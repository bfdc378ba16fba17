SELECT collab.length(collab.content('scatter'));
