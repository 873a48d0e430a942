-- The peer of the benchmarks: the hashkey signature check written the way
-- OpenResty gateways write such checks (access_by_lua, keys in a
-- lua_shared_dict, HMAC through LuaJIT's FFI into OpenSSL with a context
-- made once per worker, as lua-resty-hmac does).  It checks what apisec's
-- check 4 checks for a GET request: the key is known, the timestamp is in
-- the recvWindow (at most 60 s, at most 1 s ahead), and the signature is
-- the hex HMAC-SHA256 of the secret over the query without its signature
-- parameter.  It does no more (no key status, expiry, allow-list,
-- permission, last use, body): apisec does all of those on every request.
--
--   init_by_lua_block { require("bench_hashkey").load(TSV_FILE) }
--   location /lua/ { access_by_lua_block { require("bench_hashkey").check() } }

local ffi = require "ffi"
local bit = require "bit"

local ngx = ngx
local byte = string.byte
local sub = string.sub
local find = string.find
local lower = string.lower
local tonumber = tonumber
local rshift = bit.rshift
local band = bit.band

ffi.cdef [[
typedef struct hmac_ctx_st HMAC_CTX;
typedef struct evp_md_st EVP_MD;
typedef struct engine_st ENGINE;
const EVP_MD *EVP_sha256(void);
HMAC_CTX *HMAC_CTX_new(void);
int HMAC_Init_ex(HMAC_CTX *ctx, const void *key, int len, const EVP_MD *md,
                 ENGINE *impl);
int HMAC_Update(HMAC_CTX *ctx, const unsigned char *data, size_t len);
int HMAC_Final(HMAC_CTX *ctx, unsigned char *md, unsigned int *len);
]]

local crypto = ffi.load("libcrypto.so.3")

local _M = {}

local DICT = "bench_keys"

local ctx, md, out, outlen, hex

local digits = { byte("0123456789abcdef", 1, 16) }


function _M.load(path)
    local dict = ngx.shared[DICT]
    local n = 0

    for line in io.lines(path) do
        local tab = find(line, "\t", 1, true)
        dict:set(sub(line, 1, tab - 1), sub(line, tab + 1))
        n = n + 1
    end

    return n
end


local function deny(status)
    return ngx.exit(status)
end


local function hmac_hex(secret, data)
    if ctx == nil then
        ctx = crypto.HMAC_CTX_new()
        md = crypto.EVP_sha256()
        out = ffi.new("unsigned char[32]")
        outlen = ffi.new("unsigned int[1]")
        hex = ffi.new("unsigned char[64]")
    end

    if crypto.HMAC_Init_ex(ctx, secret, #secret, md, nil) ~= 1
       or crypto.HMAC_Update(ctx, data, #data) ~= 1
       or crypto.HMAC_Final(ctx, out, outlen) ~= 1
    then
        return nil
    end

    for i = 0, 31 do
        local b = out[i]
        hex[2 * i] = digits[rshift(b, 4) + 1]
        hex[2 * i + 1] = digits[band(b, 15) + 1]
    end

    return ffi.string(hex, 64)
end


-- the value of parameter name= in a query string, or nil
local function param(args, name)
    local from = 1

    while true do
        local s, e = find(args, name .. "=", from, true)

        if s == nil then
            return nil
        end

        if s == 1 or byte(args, s - 1) == 38 then       -- '&'
            local amp = find(args, "&", e + 1, true)
            return sub(args, e + 1, (amp or 0) - 1), s, amp
        end

        from = e + 1
    end
end


function _M.check()
    local key = ngx.var.http_x_hk_apikey

    if key == nil then
        return deny(401)
    end

    local secret = ngx.shared[DICT]:get(key)

    if secret == nil then
        return deny(401)
    end

    local args = ngx.var.args

    if args == nil then
        return deny(401)
    end

    -- totalParams: the query without its signature parameter (and one '&')
    local sig, s, amp = param(args, "signature")

    if sig == nil or #sig ~= 64 then
        return deny(401)
    end

    local total

    if amp ~= nil then
        total = sub(args, 1, s - 1) .. sub(args, amp + 1)
    elseif s > 1 then
        total = sub(args, 1, s - 2)
    else
        total = ""
    end

    local ts = tonumber((param(total, "timestamp")))
    local window = tonumber((param(total, "recvWindow")) or 5000)

    if ts == nil or window == nil or window <= 0 or window > 60000 then
        return deny(401)
    end

    local now = ngx.now() * 1000

    if ts >= now + 1000 or now - ts > window then
        return deny(401)
    end

    if hmac_hex(secret, total) ~= lower(sig) then
        return deny(401)
    end
end


return _M
