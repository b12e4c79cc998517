-- wrk script for bench/run.sh run (h): GET /v1/route with a mix of callers like cwbench's,
-- half from the prefilled flagged callers (+1 2000000000 + i, i < CALLERS) and half unflagged
-- (+1 3000000000 + i, i < 10,000,000). Each thread walks both ranges with a prime stride, so a
-- caller comes back only after the whole range: no caller calls often enough to look like a
-- nuisance during a run. No call_id: the daemon makes one, and logs every call; with
-- DRY_RUN=1 in the environment it only decides (dry_run=1: nothing counted or logged).
--
-- done() prints one line of key=value figures for run.sh.

local flagged = tonumber(os.getenv("CALLERS") or "1000000")
local tail = (os.getenv("DRY_RUN") == "1" and "&dry_run=1" or "") .. " HTTP/1.1\r\n" ..
	"Host: callwarden\r\n\r\n"
local unflagged = 10000000
local threads = {}
local i = 0

function setup(thread)
	thread:set("tid", #threads)
	table.insert(threads, thread)
end

function init(args)
	-- Threads start far apart in both ranges.
	i = (tonumber(tid) or 0) * 1000003
end

function request()
	local n
	i = i + 1
	if i % 2 == 0 then
		n = 2000000000 + (i * 7919) % flagged
	else
		n = 3000000000 + (i * 104729) % unflagged
	end
	return "GET /v1/route?caller=%2B1" .. n .. "&dialed=%2B18005550100" .. tail
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("wrk_report requests=%d seconds=%.2f rate=%.0f p50=%.3fms " ..
		"p99=%.3fms max=%.3fms non2xx=%d connect_errors=%d read_errors=%d " ..
		"write_errors=%d timeouts=%d\n",
		summary.requests, summary.duration / 1e6,
		summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
		e.status, e.connect, e.read, e.write, e.timeout))
end
