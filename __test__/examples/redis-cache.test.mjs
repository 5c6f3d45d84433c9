// Runs the Redis cache example's test (examples/redis-cache/cache.test.mjs)
// under `npm test`, whose include pattern is __test__/** only.
import '../../examples/redis-cache/cache.test.mjs'
