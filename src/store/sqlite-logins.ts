import type { Statements, TaskLoginRow } from './sqlite-statements.ts';
import type { TaskLoginRecord } from './store.ts';

// The login role and task login half of the SQLite store. Each function runs inside a
// transaction that SqliteStore opens.

/** Inserts a task's login unless it has one; see `Store.claimTaskLogin`. */
export function claimTaskLoginRow(sql: Statements, record: TaskLoginRecord): boolean {
  const result = sql.claimTaskLogin.run(
    record.frameworkId,
    record.taskId,
    record.accessor,
    record.loginTime,
    record.endedTime,
  );
  return Number(result.changes) > 0;
}

/** Finds the login of a task. */
export function taskLoginRow(
  sql: Statements,
  frameworkId: string,
  taskId: string,
): TaskLoginRecord | undefined {
  const row = sql.findTaskLogin.get(frameworkId, taskId) as TaskLoginRow | undefined;
  return row === undefined ? undefined : toTaskLogin(row);
}

/** Lists the logins of tasks not seen to end, oldest first. */
export function runningTaskLoginRows(sql: Statements): TaskLoginRecord[] {
  return (sql.listRunningTaskLogins.all() as unknown as TaskLoginRow[]).map(toTaskLogin);
}

function toTaskLogin(row: TaskLoginRow): TaskLoginRecord {
  return {
    frameworkId: row.framework_id,
    taskId: row.task_id,
    accessor: row.accessor,
    loginTime: row.login_time,
    endedTime: row.ended_time,
  };
}
