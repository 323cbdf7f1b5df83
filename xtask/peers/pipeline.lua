-- wrk script for `cargo xtask bench server`: HTTP/1.1 pipelining.
-- Every write carries DEPTH requests (default 16; pass another depth after
-- `--`, e.g. `wrk ... -s pipeline.lua URL -- 16`). wrk counts each response.
init = function(args)
   local depth = tonumber(args[1]) or 16
   local r = {}
   for i = 1, depth do
      r[i] = wrk.format(nil)
   end
   req = table.concat(r)
end

request = function()
   return req
end
