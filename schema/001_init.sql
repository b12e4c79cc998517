-- 001_init: abuse flags on callers and the append-only audit trail of supervisor actions.
-- Shipped migrations are never edited: later changes go in new NNN_name.sql files.
-- Times are Unix seconds; text is stored verbatim (always bound, never spliced into SQL).

-- One row per flag put on a caller. Revoked and expired flags stay as history.
CREATE TABLE flags (
	id            INTEGER PRIMARY KEY,
	caller        TEXT    NOT NULL,  -- E.164: '+' and digits
	code          TEXT    NOT NULL,  -- a code of the policy (kept even if the policy drops it)
	reason        TEXT    NOT NULL,
	created_by    TEXT    NOT NULL,
	source        TEXT    NOT NULL CHECK (source IN ('supervisor', 'agent', 'auto')),
	created_at    INTEGER NOT NULL,
	expires_at    INTEGER,           -- NULL: never expires
	revoked_at    INTEGER,           -- NULL: not revoked
	revoked_by    TEXT,
	revoke_reason TEXT,
	-- a revocation is always complete: when, by whom and why
	CHECK ((revoked_at IS NULL AND revoked_by IS NULL AND revoke_reason IS NULL) OR
	       (revoked_at IS NOT NULL AND revoked_by IS NOT NULL AND revoke_reason IS NOT NULL))
);

-- The per-call lookup "flags of caller X, newest first": one range scan, read backwards
-- (the rowid at the end of every index entry breaks ties, so id DESC needs no sort).
CREATE INDEX flags_caller ON flags (caller, created_at);

-- Who did what to whom. Rows are never changed or removed (see the triggers below).
CREATE TABLE audit (
	id      INTEGER PRIMARY KEY,
	ts      INTEGER NOT NULL,
	actor   TEXT    NOT NULL,  -- the supervisor or agent name
	role    TEXT    NOT NULL,  -- the role of the connection that asked
	action  TEXT    NOT NULL,  -- 'flag.add', 'flag.revoke', ...
	subject TEXT    NOT NULL,  -- the caller number for flag actions
	detail  TEXT    NOT NULL CHECK (json_valid(detail) AND json_type(detail) = 'object')
);

-- audit.list by caller or by actor, paged by id.
CREATE INDEX audit_subject ON audit (subject, id);
CREATE INDEX audit_actor ON audit (actor, id);

CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
	SELECT RAISE(ABORT, 'audit rows are immutable');
END;

CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
	SELECT RAISE(ABORT, 'audit rows are immutable');
END;
