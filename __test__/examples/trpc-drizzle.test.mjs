// Runs the tRPC + Drizzle example's end-to-end test (examples/trpc-drizzle/
// app.test.mjs) under `npm test`, whose include pattern is __test__/** only.
import '../../examples/trpc-drizzle/app.test.mjs'
