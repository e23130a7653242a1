import { TesseraError } from '../errors.ts';
import { type AbsoluteSecretPath, absolutePathFindings } from './container-path.ts';
import {
  envReferenceProblems,
  type MarathonApp,
  marathonReference,
  pointerSegment,
  pruneMovedSecrets,
  secretIdProblems,
  secretsMapProblems,
  throwProblems,
  unusedSecretsWarning,
} from './marathon.ts';
import { envNameProblems, envSecretIds, sourceProblems } from './marathon-rules.ts';
import { printable } from './secret-rules.ts';
import {
  formatSecretsVariable,
  LOGIN_ROLE_VARIABLE,
  SECRETS_VARIABLE,
} from './secrets-variable.ts';
import type { Problem } from './types.ts';
import { type SecretFile, secretFileProblems } from './volume-rules.ts';
import type { WrapOptions, WrapReport } from './wrap.ts';
import { checkWrapOptions, plainTokenWarning, TOKEN_VARIABLE } from './wrap-checks.ts';
import {
  DEFAULT_TESSERA_PROGRAM,
  isWrappedArgv,
  isWrappedShellCommand,
  wrapArgv,
  wrapShellCommand,
} from './wrap-command.ts';
import { execMemoryWarnings } from './wrap-memory.ts';
import {
  hasMovedSecrets,
  type MovedSecrets,
  mergeSecrets,
  readWrappedSecrets,
  type WrappedSecrets,
} from './wrap-merge.ts';

/**
 * Checks the secrets of a Marathon app and throws INVALID_TASK listing every problem:
 * undefined secret ids (each place that uses one), empty ids or sources, the variable
 * names, secret file paths and store paths that `validateTask` would reject in a TaskInfo,
 * and secrets in a DOCKER container. Mesos's Docker containerizer delivers secret
 * variables as empty strings and skips secret volumes (apache/mesos `src/docker/docker.cpp`).
 */
export function checkMarathonApp(app: MarathonApp): void {
  const secrets = app.secrets ?? {};
  const defined = new Set(Object.keys(secrets));
  const volumes = app.container?.volumes ?? [];
  const problems = [
    ...secretsMapProblems(secrets),
    ...envReferenceProblems(app.env, '/env', defined),
    ...envNameProblems(app.env, '/env'),
  ];
  for (const [index, volume] of volumes.entries()) {
    problems.push(
      ...secretIdProblems(`/container/volumes/${index}/secret`, volume.secret, defined),
    );
  }
  const pull = app.container?.docker?.pullConfig;
  problems.push(...secretIdProblems('/container/docker/pullConfig/secret', pull?.secret, defined));
  problems.push(...appFileProblems(volumes));
  const usedIds = [...envSecretIds(app.env), ...volumes.flatMap((volume) => volume.secret ?? [])];
  problems.push(...sourceProblems(secrets, usedIds));
  if (app.container?.type === 'DOCKER') {
    problems.push(...dockerProblems(app));
  }
  throwProblems(`Marathon app '${printable(app.id)}'`, problems);
}

type AppVolume = NonNullable<NonNullable<MarathonApp['container']>['volumes']>[number];

// A secret volume's `containerPath` is checked as a TaskInfo's `container_path` is.
function appFileProblems(volumes: readonly AppVolume[]): Problem[] {
  const problems: Problem[] = [];
  const files: SecretFile[] = [];
  for (const [index, volume] of volumes.entries()) {
    if (volume.secret === undefined) {
      continue;
    }
    const path = `/container/volumes/${index}/containerPath`;
    if (volume.containerPath === undefined) {
      problems.push({
        path,
        message: 'is missing; set the secret file path, relative to the sandbox',
      });
    } else {
      files.push({ path, containerPath: volume.containerPath });
    }
  }
  return [...problems, ...secretFileProblems(files)];
}

function dockerProblems(app: MarathonApp): Problem[] {
  const problems: Problem[] = [];
  for (const [index, volume] of (app.container?.volumes ?? []).entries()) {
    if (volume.secret !== undefined) {
      const shown = printable(volume.containerPath ?? '');
      problems.push({
        path: `/container/volumes/${index}`,
        message:
          `is a file secret at '${shown}', but file secrets need container type MESOS ` +
          "(UCR): Mesos's Docker containerizer skips secret volumes; set container.type to MESOS",
      });
    }
  }
  for (const [name, value] of Object.entries(app.env ?? {})) {
    if (typeof value !== 'string') {
      problems.push({
        path: `/env/${pointerSegment(name)}`,
        message:
          `is a secret variable ${printable(name)}, but the container type is DOCKER, whose ` +
          'containerizer delivers it as an empty string; set container.type to MESOS',
      });
    }
  }
  return problems;
}

/**
 * Rewrites a Marathon app, in place, to run on agents without secret support: secret
 * variables and secret volumes move into TESSERA_SECRETS as references to their `source`,
 * `cmd` (or `args`) runs through `tessera exec`, and secret ids used nowhere else leave
 * `secrets`. An app that already runs through `tessera exec` keeps its command, and the
 * new secrets join its TESSERA_SECRETS. Marathon sets MESOS_TASK_ID, so no task id
 * variable is added. Throws INVALID_TASK as `checkMarathonApp` does, when the app has no
 * command that wrap can run through `tessera exec`, or when its TESSERA_SECRETS is
 * invalid or already contains a new entry. An app that cannot be wrapped is left as it was.
 */
export function wrapMarathonApp(app: MarathonApp, options: WrapOptions = {}): WrapReport {
  checkWrapOptions(options);
  checkMarathonApp(app);
  checkAppPaths(app, options);
  const what = `Marathon app '${printable(app.id)}'`;
  const warnings: string[] = [];
  if (typeof app.env?.[TOKEN_VARIABLE] === 'string') {
    const path = `/env/${TOKEN_VARIABLE}`;
    warnings.push(plainTokenWarning(`app '${printable(app.id)}'`, path, options.loginRole));
  }
  const wrapped = appWrappedSecrets(app, options);
  const moved = appMovedSecrets(app);
  if (!hasMovedSecrets(moved)) {
    if (wrapped !== undefined && options.loginRole !== undefined) {
      setAppLoginRole(app, options.loginRole);
      warnings.push(
        `app '${printable(app.id)}' has no secrets to add; only ${LOGIN_ROLE_VARIABLE} is set`,
      );
      return { warnings };
    }
    const state = wrapped === undefined ? 'has no secrets' : 'has no secrets to add';
    warnings.push(`app '${printable(app.id)}' ${state}; left unchanged`);
    return { warnings };
  }

  // Every check runs before the first change.
  if (wrapped === undefined) {
    checkAppCommand(app);
  }
  const merged = mergeSecrets(wrapped, moved);
  throwProblems(what, merged.problems);

  const movedIds = new Set([
    ...envSecretIds(app.env),
    ...(app.container?.volumes ?? []).flatMap((volume) => volume.secret ?? []),
  ]);
  if (wrapped === undefined) {
    wrapAppCommand(app, options.tessera ?? DEFAULT_TESSERA_PROGRAM);
    warnings.push(...execMemoryWarnings(`app '${printable(app.id)}'`, app.mem));
  }
  for (const { entry } of moved.env) {
    delete app.env?.[entry.name];
  }
  const volumes = app.container?.volumes;
  if (volumes !== undefined) {
    const kept = volumes.filter((volume) => volume.secret === undefined);
    volumes.splice(0, volumes.length, ...kept);
  }
  app.env ??= {};
  app.env[SECRETS_VARIABLE] = formatSecretsVariable(merged.secrets);
  if (options.loginRole !== undefined) setAppLoginRole(app, options.loginRole);
  pruneSecrets(app, movedIds, warnings);
  return { warnings };
}

function setAppLoginRole(app: MarathonApp, loginRole: string): void {
  app.env ??= {};
  app.env[LOGIN_ROLE_VARIABLE] = loginRole;
}

// A plain TESSERA_SECRETS variable marks an app that a wrap has already rewritten.
function appWrappedSecrets(app: MarathonApp, options: WrapOptions): WrappedSecrets | undefined {
  const text = app.env?.[SECRETS_VARIABLE];
  if (typeof text !== 'string') {
    return undefined;
  }

  const path = `/env/${SECRETS_VARIABLE}`;
  const read = readWrappedSecrets(text, path, {
    allowInlineValues: options.allowInlineValues === true,
    runsThroughExec:
      app.cmd !== undefined ? isWrappedShellCommand(app.cmd) : isWrappedArgv(app.args ?? []),
  });
  throwProblems(`Marathon app '${printable(app.id)}'`, read.problems);
  return read.wrapped;
}

function appMovedSecrets(app: MarathonApp): MovedSecrets {
  const secrets = app.secrets ?? {};
  const moved: MovedSecrets = { env: [], files: [] };
  for (const [name, value] of Object.entries(app.env ?? {})) {
    if (typeof value !== 'string') {
      moved.env.push({
        entry: { name, secret: marathonReference(secrets, value.secret) },
        path: `/env/${pointerSegment(name)}`,
      });
    }
  }
  for (const [index, volume] of (app.container?.volumes ?? []).entries()) {
    if (volume.secret !== undefined) {
      const secret = marathonReference(secrets, volume.secret);
      moved.files.push({
        entry: { container_path: volume.containerPath ?? '', mode: 'RO', secret },
        path: `/container/volumes/${index}/containerPath`,
      });
    }
  }
  return moved;
}

function checkAppPaths(app: MarathonApp, options: WrapOptions): void {
  const hasImage = app.container?.docker?.image !== undefined;
  const paths: AbsoluteSecretPath[] = (app.container?.volumes ?? []).flatMap((volume, index) =>
    volume.secret === undefined
      ? []
      : [
          {
            path: `/container/volumes/${index}`,
            containerPath: volume.containerPath ?? '',
            hasImage,
          },
        ],
  );
  const findings = absolutePathFindings(paths, options.pathExists);
  throwProblems(`Marathon app '${printable(app.id)}'`, findings.errors);
}

function checkAppCommand(app: MarathonApp): void {
  const what = `Marathon app '${printable(app.id)}'`;
  const hasArgs = app.args !== undefined && app.args.length > 0;
  // Marathon's app validation rejects the pair: "AppDefinition must either contain one of
  // 'cmd' or 'args', and/or a 'container'."
  if (app.cmd !== undefined && hasArgs) {
    throw new TesseraError(
      'INVALID_TASK',
      `${what} sets both cmd and args, which Marathon rejects; keep cmd for a shell ` +
        'command or args for an argv',
    );
  }
  if (app.cmd === undefined && hasArgs && app.container !== undefined) {
    // Marathon sets CommandInfo.value to args[0] only for an app without a container
    // (mesosphere/marathon `TaskBuilder.scala`). With one, args go to the image's entrypoint.
    throw new TesseraError(
      'INVALID_TASK',
      `${what} has args and a container, so Marathon leaves the command's value unset and ` +
        "passes args to the container image's entrypoint, which cannot be run through " +
        'tessera exec; set cmd to the entrypoint and its arguments instead of args',
    );
  }
  if (app.cmd === undefined && !hasArgs) {
    throw new TesseraError(
      'INVALID_TASK',
      `${what} has neither cmd nor args, so there is no command to run through tessera ` +
        'exec; set cmd',
    );
  }
}

// `checkAppCommand` has passed, so the app has `cmd`, or `args` and no container.
function wrapAppCommand(app: MarathonApp, tessera: string): void {
  if (app.cmd !== undefined) {
    app.cmd = wrapShellCommand(app.cmd, { tessera });
  } else {
    app.args = wrapArgv(app.args ?? [], { tessera });
  }
}

// The image pull secret stays, because the agent needs it.
function pruneSecrets(app: MarathonApp, moved: ReadonlySet<string>, warnings: string[]): void {
  const pull = app.container?.docker?.pullConfig?.secret;
  const unused = pruneMovedSecrets(app, moved, new Set(pull === undefined ? [] : [pull]));
  warnings.push(...unusedSecretsWarning(`app '${printable(app.id)}'`, unused));
  if (pull !== undefined) {
    warnings.push(
      `app '${printable(app.id)}': container.docker.pullConfig is left in place; the agent ` +
        'pulls the image before the task starts, so it needs a --secret_resolver module',
    );
  }
}
