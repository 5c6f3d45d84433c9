// @ts-check
// Drizzle schema of the example app: users and their posts.
// The matching DDL is in db.mjs (ensureSchema), so the example runs without
// drizzle-kit; in a real app `drizzle-kit generate` would produce it.
import { relations } from 'drizzle-orm'
import { bigint, mysqlTable, serial, text, timestamp, varchar } from 'drizzle-orm/mysql-core'

export const users = mysqlTable('trpc_example_users', {
  id: serial('id').primaryKey(),
  name: varchar('name', { length: 100 }).notNull(),
  email: varchar('email', { length: 255 }).notNull().unique(),
  createdAt: timestamp('created_at', { mode: 'date', fsp: 3 }).notNull().defaultNow(),
})

export const posts = mysqlTable('trpc_example_posts', {
  id: serial('id').primaryKey(),
  // serial() is BIGINT UNSIGNED, so the foreign key column is too.
  authorId: bigint('author_id', { mode: 'number', unsigned: true })
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  title: varchar('title', { length: 200 }).notNull(),
  body: text('body'),
  createdAt: timestamp('created_at', { mode: 'date', fsp: 3 }).notNull().defaultNow(),
})

export const usersRelations = relations(users, ({ many }) => ({
  posts: many(posts),
}))

export const postsRelations = relations(posts, ({ one }) => ({
  author: one(users, { fields: [posts.authorId], references: [users.id] }),
}))
