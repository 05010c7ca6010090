import { databaseEnv, databaseTlsFromEnv, parseEnv } from '@inlet/config';
import { createDatabaseIfMissing, createSql, migrate, sslOptionsFor } from '@inlet/db';

/** Creates the database if it is missing, then applies pending migrations. */
export async function runMigrate(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const settings = parseEnv(databaseEnv, env);
  const { DATABASE_URL } = settings;
  const ssl = sslOptionsFor(DATABASE_URL, databaseTlsFromEnv(settings)?.ca);
  const created = await createDatabaseIfMissing(DATABASE_URL, { ssl });
  const sql = createSql(DATABASE_URL, { max: 1, ssl });
  try {
    const applied = await migrate(sql);
    const name = new URL(DATABASE_URL).pathname.slice(1);
    return [
      ...(created ? [`created database ${name}`] : []),
      applied.length > 0 ? `applied migrations ${applied.join(', ')}` : 'schema is up to date',
    ];
  } finally {
    await sql.end({ timeout: 5 });
  }
}
