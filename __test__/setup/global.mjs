// vitest globalSetup: one shared server for the whole run, or an external one
// given as MYSQL_URL (then nothing is started and TLS material is unknown).
import { startMariaDB } from '../harness/mariadb.mjs'

export async function setup({ provide }) {
  const external = process.env.MYSQL_URL
  if (external) {
    const u = new URL(external)
    const server = {
      url: external,
      host: u.hostname,
      port: Number(u.port || 3306),
      user: decodeURIComponent(u.username),
      password: decodeURIComponent(u.password),
      database: decodeURIComponent(u.pathname.replace(/^\//, '')) || undefined,
      certs: null,
      external: true,
    }
    provide('mysqlUrl', external)
    provide('mysqlServer', server)
    process.env.NMP_TEST_MYSQL_URL = external
    return () => {}
  }

  const srv = await startMariaDB()
  // provide() needs serializable values, so hand out plain data, not the handle.
  const { host, port, user, password, database, url, dir, certs, pem } = srv
  provide('mysqlUrl', url)
  provide('mysqlServer', { host, port, user, password, database, url, dir, certs, pem, external: false })
  process.env.NMP_TEST_MYSQL_URL = url
  return async () => {
    await srv.stop()
  }
}
