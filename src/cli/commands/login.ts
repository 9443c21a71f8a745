import { readFileSync } from "node:fs";
import { boolOption, stringOption } from "../args.ts";
import { BuncError } from "../../errors.ts";
import { defaultAuthFileForWrite, saveCredentials } from "../../image/registry/credentials.ts";
import { checkLogin, loginKey } from "../../image/registry/login.ts";
import { printError } from "../../output.ts";
import type { CommandContext } from "./context.ts";

/**
 * `bunc login REGISTRY`: checks the credentials against the registry, then saves them in the
 * auth file pull reads (`--authfile`, else $REGISTRY_AUTH_FILE, else
 * $XDG_RUNTIME_DIR/containers/auth.json, else ~/.docker/config.json), in docker's format.
 */
export async function login(ctx: CommandContext): Promise<number> {
  const key = loginKey(ctx.positionals[0]!);
  const username = stringOption(ctx.options, "username");
  if (!username) throw new BuncError("usage", "login: --username is required");
  const password = readPassword(ctx);
  await checkLogin(key, username, password, { insecure: ctx.options["tls-verify"] === false });
  const file = stringOption(ctx.options, "authfile") ?? defaultAuthFileForWrite();
  await saveCredentials(key, username, password, { file });
  printError(`Login Succeeded: ${key} (${file})\n`);
  return 0;
}

function readPassword(ctx: CommandContext): string {
  const given = stringOption(ctx.options, "password");
  const fromStdin = boolOption(ctx.options, "password-stdin");
  if (given !== undefined && fromStdin) throw new BuncError("usage", "login: --password and --password-stdin exclude each other");
  if (given !== undefined) return given;
  if (!fromStdin) throw new BuncError("usage", "login: give the password with --password-stdin (or --password)");
  // One line, without its newline, as docker reads it.
  const text = readFileSync(0, "utf8").replace(/\r?\n$/, "");
  if (text === "") throw new BuncError("usage", "login: --password-stdin: standard input held no password");
  return text;
}
