// @ts-check
// Compile-time checks, never run: `tsc -p examples/trpc-drizzle/tsconfig.json`
// must accept the lines below and reject each @ts-expect-error line. This
// proves the router's types come from the Drizzle schema (through our Pool
// type) all the way to what a tRPC client sees, instead of collapsing to any.

/** @typedef {import('./router.mjs').AppRouter} AppRouter */
/** @typedef {import('@trpc/server').inferRouterInputs<AppRouter>} Inputs */
/** @typedef {import('@trpc/server').inferRouterOutputs<AppRouter>} Outputs */

/** @type {Inputs['users']['create']} */
export const newUser = { name: 'Ada', email: 'ada@example.com' }

/** @type {Inputs['posts']['byUser']} */
export const byUserInput = { userId: 1 }

// Without a transformer, Dates travel as ISO strings, and the types say so.
/** @type {Outputs['users']['list'][number]} */
export const listed = { id: 1, name: 'Ada', email: 'ada@example.com', createdAt: '2025-11-14T00:00:00.000Z' }

/** @type {Outputs['posts']['byUser']['posts'][number]['title']} */
export const title = 'Hello'

// @ts-expect-error ids are numbers (serial / bigint mode 'number')
/** @type {Outputs['users']['byId']['id']} */ export const badId = '1'

// @ts-expect-error email is required by the input parser
/** @type {Inputs['users']['create']} */ export const badUser = { name: 'Ada' }

// @ts-expect-error byUser returns a user's columns picked in `columns`: no email
/** @type {Outputs['posts']['byUser']['email']} */ export const noEmail = ''
