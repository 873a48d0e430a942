-- wrk script: send a pool of pre-signed requests (bench/keys.pl sign), in
-- order, round and round.
--
--   wrk -t1 -c50 -d10s -s bench/pool.lua URL -- POOL_FILE [STOP_AFTER]
--
-- POOL_FILE has one request a line: METHOD TAB URI TAB ACCESS_KEY TAB BODY.
-- Every request is formatted once, in init, so that the load generator
-- spends its time sending, not building requests.  With STOP_AFTER, the
-- thread stops once that many responses came back (bench/callgrind.sh
-- counts instructions over a known number of requests); otherwise wrk runs
-- for its duration and no response is looked at by Lua (wrk counts the
-- statuses that are not 2xx or 3xx by itself).

local pool = {}
local n = 0
local i = 0
local stop_after
local responses = 0

function init(args)
    local path = args[1]
    local form = "application/x-www-form-urlencoded"

    for line in io.lines(path) do
        local method, uri, key, body =
            line:match("^(%u+)\t([^\t]+)\t([^\t]*)\t(.*)$")

        if method == nil then
            error("bad pool line: " .. line)
        end

        local headers = { ["X-HK-APIKEY"] = key }

        if body == "" then
            body = nil
        else
            headers["Content-Type"] = form
        end

        n = n + 1
        pool[n] = wrk.format(method, uri, headers, body)
    end

    if n == 0 then
        error("empty pool " .. path)
    end

    if args[2] ~= nil then
        stop_after = tonumber(args[2])

        response = function(status, headers, body)
            responses = responses + 1

            if status ~= 200 then
                io.stderr:write("status " .. status .. ": " .. body .. "\n")
            end

            if responses >= stop_after then
                wrk.thread:stop()
            end
        end
    end
end

function request()
    i = i % n + 1
    return pool[i]
end

function done(summary, latency, requests)
    io.write(string.format("requests: %d\n", summary.requests))
    io.write(string.format("duration_us: %d\n", summary.duration))
    io.write(string.format("non2xx: %d\n", summary.errors.status))
    io.write(string.format("socket_errors: %d\n",
                           summary.errors.connect + summary.errors.read
                           + summary.errors.write + summary.errors.timeout))
end
