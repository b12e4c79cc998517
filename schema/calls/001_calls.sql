-- The call log's own database file (beside the main one: callwarden.db -> callwarden-calls.db),
-- one row per offered call with its decision and how the call went. Kept apart from flags so
-- that its commits (20 a second) neither invalidate the routing reader's cache nor compete with
-- flag writes for the lock. Written by the daemon's call-log thread in grouped transactions
-- (one commit per 50 ms batch): a crash loses at most the last uncommitted group.
-- Rows older than the policy's retention are deleted in small batches.
-- Migrations of this file are numbered on their own (PRAGMA user_version of this file).

CREATE TABLE calls (
	-- Assigned by the daemon, increasing: a new row and the later UPDATEs of the same call
	-- land on the same few recent pages at the right edge of the table.
	id          INTEGER PRIMARY KEY,
	call_id     TEXT    NOT NULL,  -- the telephony side's id (not unique over time)
	caller      TEXT,              -- E.164; NULL when withheld or not a number
	dialed      TEXT,              -- as the daemon keyed it (E.164 when a number); NULL: none
	offered_at  INTEGER NOT NULL,
	action      TEXT    NOT NULL CHECK (action IN ('queue', 'reject')),
	queue       TEXT    NOT NULL,
	rule        TEXT    NOT NULL,  -- the rule that matched, or 'default'
	policy      TEXT    NOT NULL,  -- the policy version that decided
	degraded    INTEGER NOT NULL DEFAULT 0 CHECK (degraded IN (0, 1)),
	answered_at INTEGER,           -- NULL: never answered
	agent       TEXT,
	ended_at    INTEGER,           -- NULL: still open
	ended_by    TEXT    CHECK (ended_by IN ('caller', 'agent', 'system')),
	abandoned   INTEGER NOT NULL DEFAULT 0 CHECK (abandoned IN (0, 1)),
	talk_s      INTEGER CHECK (talk_s >= 0),  -- answered..ended; NULL when never answered
	-- an end is always complete: when and by whom
	CHECK ((ended_at IS NULL) = (ended_by IS NULL))
);

-- Start-up rebuild (rows since T, oldest first), open calls, time ranges and retention.
-- Offer times grow with the id, so new entries append at the right edge of this index: cheap.
--
-- Deliberately NO index on caller: at 30,000 calls/s every insert would touch a random page of
-- a (caller, ...) index, which measured at about 20,000 rows/s on a 10-million-row table against
-- 70,000+ without it. Per-caller reads (caller.show's recent calls) are instead bounded scans of
-- the newest rows of the log (ORDER BY id DESC LIMIT scan_cap), and the nuisance counters live
-- in memory. Exports by caller over the whole retention need a different structure if ever
-- required (e.g. a per-caller summary table written at a far lower rate), not an index here.
CREATE INDEX calls_offered ON calls (offered_at);
