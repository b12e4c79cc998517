-- 004_flags_route: the per-call lookup of a caller's flags reads this index alone.
-- Routing needs each flag's code and validity, newest first; the table row (reason, author)
-- is read only for a flag a decision quotes. id right after created_at keeps "newest first"
-- (created_at DESC, id DESC) an index order, with no sort. It replaces flags_caller.
CREATE INDEX flags_caller_route ON flags (caller, created_at, id, code, expires_at, revoked_at);
DROP INDEX flags_caller;
