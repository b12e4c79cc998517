-- 003_reports: agents' mid-call reports, follow-up tasks, and indexes for listing flags.
-- Written by the store writer only (synchronous=FULL), each change with its audit rows.

-- Follow-up tasks: someone contacts the caller (or reviews the call) after an incident.
CREATE TABLE followups (
	id         INTEGER PRIMARY KEY,
	caller     TEXT    NOT NULL,  -- E.164, or '' when the call's caller was withheld
	call_id    TEXT,              -- the call it came from; NULL when added by hand without one
	due_at     INTEGER NOT NULL,
	created_by TEXT    NOT NULL,
	created_at INTEGER NOT NULL,
	note       TEXT    NOT NULL,
	done_at    INTEGER,           -- NULL: still open
	done_by    TEXT,
	done_note  TEXT,
	-- done is always complete (when and by whom); an open task has no done fields
	CHECK ((done_at IS NULL AND done_by IS NULL AND done_note IS NULL) OR
	       (done_at IS NOT NULL AND done_by IS NOT NULL))
);

-- Open tasks by due time ("what is overdue now"); only open rows are in it, so it stays small.
CREATE INDEX followups_open_due ON followups (due_at) WHERE done_at IS NULL;
-- followup.list and caller.export by caller, newest first.
CREATE INDEX followups_caller ON followups (caller, id);

-- One row per code an agent reported during a call. A retry of the same report (same call and
-- code, even after a restart) finds this row instead of writing a second flag.
CREATE TABLE reports (
	id          INTEGER PRIMARY KEY,
	call_id     TEXT    NOT NULL,
	caller      TEXT    NOT NULL,  -- E.164, or '' when withheld (then no flag is written)
	code        TEXT    NOT NULL,
	agent       TEXT    NOT NULL,
	note        TEXT,
	ts          INTEGER NOT NULL,
	flag_id     INTEGER REFERENCES flags (id),      -- NULL: withheld caller, no flag
	followup_id INTEGER REFERENCES followups (id),  -- NULL: the policy asked for none
	UNIQUE (call_id, code)
);

-- caller.export: a caller's reports, newest first.
CREATE INDEX reports_caller ON reports (caller, id);

-- flag.list filtered by author or by code, newest first, paged by id: a range scan of one of
-- these instead of the whole table. Flags are written rarely, so two more indexes cost little.
CREATE INDEX flags_created_by ON flags (created_by, id);
CREATE INDEX flags_code ON flags (code, id);
