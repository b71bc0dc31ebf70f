-- wrk script: puts through etcd's v3 HTTP/JSON gateway (POST /v3/kv/put, base64 key and
-- value). Each wrk thread writes its own keys "nr-bench/<thread>/<i>" (i cycles over 1024
-- keys) with a 32-byte value, the size of a Narrator record's digest. Bodies are built once
-- in init() so that the load generator spends its CPU on sending, not on encoding.
local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function b64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local c1 = math.floor(n / 262144) % 64
    local c2 = math.floor(n / 4096) % 64
    local c3 = math.floor(n / 64) % 64
    local c4 = n % 64
    out[#out + 1] = alphabet:sub(c1 + 1, c1 + 1) .. alphabet:sub(c2 + 1, c2 + 1) ..
      (b and alphabet:sub(c3 + 1, c3 + 1) or "=") .. (c and alphabet:sub(c4 + 1, c4 + 1) or "=")
  end
  return table.concat(out)
end

local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

local bodies = {}
local count = 0
function init(args)
  local value = string.rep("d", 32)
  for i = 0, 1023 do
    local key = "nr-bench/" .. tostring(id) .. "/" .. tostring(i)
    bodies[i] = '{"key":"' .. b64(key) .. '","value":"' .. b64(value) .. '"}'
  end
  wrk.method = "POST"
  wrk.path = "/v3/kv/put"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local body = bodies[count % 1024]
  count = count + 1
  return wrk.format(nil, nil, nil, body)
end
