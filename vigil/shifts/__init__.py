"""Shift checklists (issue 19, part 4): the runbook's morning, mid-day and end-of-day lists
per shift, items Vigil verifies itself with evidence, items people tick with a note, the
hand-over that carries open items to the next shift, and the history."""
