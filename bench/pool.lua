-- wrk script: send a pool of pre-signed requests (bench/keys.pl sign), in
-- order, round and round.
--
--   wrk -t1 -c50 -d10s -s bench/pool.lua URL -- POOL_FILE [STOP_AFTER]
--
-- POOL_FILE has one request a line: METHOD TAB URI TAB ACCESS_KEY TAB BODY.
-- Every request of a pool of up to 20000 is formatted once, in init, so
-- that the load generator spends its time sending, not building requests;
-- a larger pool (the replay guard's once-only requests) is formatted as it
-- is sent.  No response is looked at by Lua (wrk counts the statuses that
-- are not 2xx or 3xx by itself).  With STOP_AFTER, the thread stops
-- sending once that many responses came back (wrk still waits for its
-- duration).

local pool = {}
local n = 0
local i = 0
local lazy = false
local stop_after
local responses = 0

-- A request of the pool: formatted once in init, or at each use for a
-- large pool (LuaJIT interns every string, and a few hundred thousand
-- formatted requests alike in their first and last bytes make its string
-- table crawl: minutes to load the replay guard's pool)
local LAZY_ABOVE = 20000
local form = "application/x-www-form-urlencoded"

local host

-- the request of a pool line, as wrk.format would make it (by plain
-- concatenation: cheap enough to do at each request)
local function format(line)
    local method, uri, key, body =
        line:match("^(%u+)\t([^\t]+)\t([^\t]*)\t(.*)$")

    if method == nil then
        error("bad pool line: " .. line)
    end

    local head = method .. " " .. uri .. " HTTP/1.1\r\nHost: " .. host
                 .. "\r\nX-HK-APIKEY: " .. key .. "\r\n"

    if body == "" then
        return head .. "\r\n"
    end

    return head .. "Content-Type: " .. form .. "\r\nContent-Length: "
           .. #body .. "\r\n\r\n" .. body
end

function init(args)
    local path = args[1]

    host = wrk.host .. ":" .. wrk.port

    for line in io.lines(path) do
        n = n + 1
        pool[n] = line
    end

    if n == 0 then
        error("empty pool " .. path)
    end

    lazy = n > LAZY_ABOVE

    if not lazy then
        for j = 1, n do
            pool[j] = format(pool[j])
        end
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

    if lazy then
        return format(pool[i])
    end

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
