/**
 * How each emulator's JVM is launched. Both emulators ship a shell launcher that only finds Java
 * and runs one jar (Pub/Sub: `bin/cloud-pubsub-emulator`, a Gradle script running `java -jar
 * lib/<jar>`; Firestore: `cloud_firestore_emulator`, running `java -Duser.language=en -cp <jar>
 * <main class>`, which `gcloud emulators firestore start` runs with `start --host --port
 * --database-mode=firestore-native` after starting Python). The local cloud reads the jar (and the
 * main class and flags) from the launcher and runs `java` itself with the same arguments: the same
 * emulator, without the shell, and for Firestore without gcloud's Python (about a second of CPU).
 * A launcher it cannot read is run as it is.
 *
 * Running `java` itself lets the local cloud give the JVM a class-data archive (AppCDS): the
 * classes a start loads, parsed and verified once, mapped at the next start instead of read from
 * the jar (about half of a start's CPU). The first start with a given emulator, Java and flags
 * writes the archive when the JVM exits cleanly (`-XX:ArchiveClassesAtExit`, to a temporary file
 * renamed into place only after a clean exit); the next ones map it (`-XX:SharedArchiveFile`). Its
 * file name is a hash of what it depends on: the jar's path, size and modification time, the Java
 * binary's and libjvm's, and the flags. The JVMs also run with the client compiler only
 * (`-XX:TieredStopAtLevel=1`: C2's compilations are CPU a short-lived emulator does not earn back)
 * and the serial collector (one GC thread on a small heap).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { delimiter, dirname, join, resolve } from 'node:path';

/** Flags every emulator JVM gets (part of the archive's key). */
export const JVM_FLAGS = ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC'] as const;

/** The local cloud's cache directory when none is given: `.crosslink/cache` in the repository. */
export const DEFAULT_CACHE_DIR = resolve(import.meta.dirname, '..', '..', '.crosslink', 'cache');

/** What to run for one emulator: `java` with a jar, or the launcher as it is. */
export interface JvmLaunch {
  command: string;
  args: string[];
  /** The jar the JVM runs (undefined when the launcher runs as it is). */
  jar?: string;
}

export function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` on PATH. */
export function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** The `java` the launchers would run: `$JAVA_HOME/bin/java`, else the first on PATH. */
export function javaBinary(env: NodeJS.ProcessEnv): string | undefined {
  if (env.JAVA_HOME) {
    const home = join(env.JAVA_HOME, 'bin', 'java');
    return executable(home) ? home : undefined;
  }
  return onPath('java', env);
}

/**
 * The Pub/Sub emulator's launch: `java -jar <the launcher's CLASSPATH jar> --host --port`. The
 * launcher is run as it is when its JVM options variables are set (it passes them on) or its jar
 * cannot be read from it.
 */
export function pubsubLaunch(
  launcher: string,
  host: string,
  port: number,
  env: NodeJS.ProcessEnv,
): JvmLaunch {
  const args = [`--host=${host}`, `--port=${port}`];
  const java = javaBinary(env);
  if (!java || env.JAVA_OPTS || env.CLOUD_PUBSUB_EMULATOR_OPTS) return { command: launcher, args };
  let text: string;
  let appHome: string;
  try {
    const real = realpathSync(launcher);
    text = readFileSync(real, 'utf8');
    appHome = dirname(dirname(real));
  } catch {
    return { command: launcher, args };
  }
  const jar = /^CLASSPATH=\$APP_HOME\/(\S+\.jar)$/m.exec(text)?.[1];
  if (!jar || !existsSync(join(appHome, jar))) return { command: launcher, args };
  return { command: java, args: ['-jar', join(appHome, jar), ...args], jar: join(appHome, jar) };
}

/**
 * The Firestore emulator's launch, as gcloud runs it: the launcher's `java <flags> -cp <jar>
 * <main class> start --host --port --database-mode=firestore-native`, with `$JAVA` when set (the
 * launcher honours it). The launcher itself runs when it cannot be read.
 */
export function firestoreLaunch(
  launcher: string,
  host: string,
  port: number,
  env: NodeJS.ProcessEnv,
): JvmLaunch {
  const args = ['start', `--host=${host}`, `--port=${port}`, '--database-mode=firestore-native'];
  const java = env.JAVA || javaBinary(env);
  let text: string;
  try {
    text = readFileSync(launcher, 'utf8');
  } catch {
    return { command: launcher, args };
  }
  const jarName = /^declare -r FIRESTORE_JAR="\$\{FIRESTORE_DIR\}\/([^"]+\.jar)"$/m.exec(text)?.[1];
  const main = /-cp "\$\{FIRESTORE_JAR\}" ([\w.$]+) /.exec(text)?.[1];
  const flags = /^declare -r JVM_ENGLISH="([^"]*)"$/m.exec(text)?.[1];
  const jar = jarName ? join(dirname(launcher), jarName) : undefined;
  if (!java || !jar || !main || flags === undefined || !existsSync(jar)) return { command: launcher, args };
  return { command: java, args: [...flags.split(/\s+/).filter(Boolean), '-cp', jar, main, ...args], jar };
}

function fileKey(path: string): string {
  const s = statSync(path);
  return `${path}:${s.size}:${s.mtimeMs}`;
}

/** Whether a process with this pid exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The class-data archive of one emulator JVM: the flags that use or write it, and what to do at exit. */
export interface ClassDataArchive {
  /** JVM flags: JVM_FLAGS and the archive's (placed before `-jar` / `-cp`). */
  flags: string[];
  /** Whether an archive was found (this start maps it). */
  mapped: boolean;
  /** Call when the JVM exited: a clean exit's archive is kept, any other removed. */
  exited(code: number | null, signal: NodeJS.Signals | null): void;
}

/**
 * The archive for `name`'s JVM running `jar` with `java`, in `<cacheDir>/jvm/`. Temporary archives
 * of processes no longer running (a local cloud killed before its JVMs exited) are removed here.
 */
export function classDataArchive(
  cacheDir: string,
  name: string,
  java: string,
  jar: string,
): ClassDataArchive {
  const dir = join(cacheDir, 'jvm');
  const realJava = realpathSync(java);
  const libjvm = join(dirname(dirname(realJava)), 'lib', 'server', 'libjvm.so');
  const key = createHash('sha256')
    .update(
      JSON.stringify([fileKey(jar), fileKey(realJava), existsSync(libjvm) ? fileKey(libjvm) : '', JVM_FLAGS]),
    )
    .digest('hex')
    .slice(0, 16);
  const archive = join(dir, `${name}-${key}.jsa`);
  if (existsSync(archive)) {
    return { flags: [...JVM_FLAGS, `-XX:SharedArchiveFile=${archive}`], mapped: true, exited: () => {} };
  }
  mkdirSync(dir, { recursive: true });
  for (const f of readdirSync(dir)) {
    const owner = /\.(\d+)\.[0-9a-f]+\.tmp$/.exec(f)?.[1];
    if (owner && !alive(Number(owner))) rmSync(join(dir, f), { force: true });
  }
  const tmp = `${archive}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  return {
    flags: [...JVM_FLAGS, `-XX:ArchiveClassesAtExit=${tmp}`],
    mapped: false,
    exited(code, signal) {
      // A JVM killed (SIGKILL) may have left half an archive; one that exited wrote all of it.
      try {
        if (signal === null && code !== null && existsSync(tmp)) renameSync(tmp, archive);
        else rmSync(tmp, { force: true });
      } catch {
        rmSync(tmp, { force: true });
      }
    },
  };
}
