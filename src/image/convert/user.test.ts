import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseGroup, parsePasswd } from "./passwd.ts";
import { readRootfsFile } from "./rootfs-file.ts";
import { resolveUser } from "./user.ts";

const PASSWD = [
  "root:x:0:0:root:/root:/bin/sh",
  "# a comment",
  "",
  "app:x:1000:1000:app:/home/app:/bin/sh",
  "web:x:1001:33::/var/www:/bin/false",
  "bad:x:notanumber:1::/:/bin/false",
  "+nis",
  "",
].join("\n");
const GROUP = ["root:x:0:", "www-data:x:33:", "staff:x:50:app,web", "video:x:44:app", "app:x:1000:", "wheel:x:10: app , root", ""].join("\n");

let dir: string;
let rootfs: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "bunc-convert-user-"));
  rootfs = join(dir, "rootfs");
  mkdirSync(join(rootfs, "etc"), { recursive: true });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const writeDb = (passwd = PASSWD, group = GROUP) => {
  writeFileSync(join(rootfs, "etc/passwd"), passwd);
  writeFileSync(join(rootfs, "etc/group"), group);
};

describe("passwd and group parsing", () => {
  test("comments, blank, NIS and malformed lines are skipped", () => {
    expect(parsePasswd(PASSWD).map((e) => e.name)).toEqual(["root", "app", "web"]);
    expect(parseGroup(GROUP).find((g) => g.name === "wheel")!.members).toEqual(["app", "root"]);
  });
});

describe("Config.User forms", () => {
  test("empty means root, without reading the rootfs", () => {
    expect(resolveUser("", rootfs)).toEqual({ uid: 0, gid: 0 });
  });

  test("name: uid, gid and home from /etc/passwd, additional gids from /etc/group", () => {
    writeDb();
    expect(resolveUser("app", rootfs)).toEqual({ uid: 1000, gid: 1000, home: "/home/app", additionalGids: [50, 44, 10] });
  });

  test("name with no group memberships gets an empty additional gid list", () => {
    writeDb();
    expect(resolveUser("root", rootfs)).toEqual({ uid: 0, gid: 0, home: "/root", additionalGids: [10] });
    writeDb(PASSWD, "root:x:0:\n");
    expect(resolveUser("web", rootfs)).toEqual({ uid: 1001, gid: 33, home: "/var/www", additionalGids: [] });
  });

  test("uid alone: primary gid from /etc/passwd, no additional gids (conversion.md)", () => {
    writeDb();
    expect(resolveUser("1001", rootfs)).toEqual({ uid: 1001, gid: 33, home: "/var/www" });
  });

  test("uid with no passwd entry, or no /etc/passwd at all, is fine with gid 0", () => {
    writeDb();
    expect(resolveUser("4242", rootfs)).toEqual({ uid: 4242, gid: 0 });
    rmSync(join(rootfs, "etc"), { recursive: true });
    expect(resolveUser("4242", rootfs)).toEqual({ uid: 4242, gid: 0 });
  });

  test("uid:gid is copied verbatim, nothing read", () => {
    expect(resolveUser("12:34", rootfs)).toEqual({ uid: 12, gid: 34 });
  });

  test("name:group and uid:group resolve the group by name; a group given means no additional gids", () => {
    writeDb();
    expect(resolveUser("app:staff", rootfs)).toEqual({ uid: 1000, gid: 50, home: "/home/app" });
    expect(resolveUser("7:www-data", rootfs)).toEqual({ uid: 7, gid: 33 });
    expect(resolveUser("app:99", rootfs)).toEqual({ uid: 1000, gid: 99, home: "/home/app" });
  });

  test("an unknown user names the user and /etc/passwd", () => {
    writeDb();
    expect(() => resolveUser("ghost", rootfs)).toThrow(/Config\.User: no user "ghost" in the rootfs's \/etc\/passwd/);
    rmSync(join(rootfs, "etc/passwd"));
    expect(() => resolveUser("app", rootfs)).toThrow(/no user "app" in the rootfs's \/etc\/passwd/);
  });

  test("an unknown group names the group and /etc/group", () => {
    writeDb();
    expect(() => resolveUser("app:ghosts", rootfs)).toThrow(/Config\.User: no group "ghosts" in the rootfs's \/etc\/group/);
  });

  test("malformed specs and ids out of range are refused", () => {
    expect(() => resolveUser("a:b:c", rootfs)).toThrow(/Config\.User: "a:b:c" is not user/);
    expect(() => resolveUser(":5", rootfs)).toThrow(/empty user or group/);
    expect(() => resolveUser("5:", rootfs)).toThrow(/empty user or group/);
    expect(() => resolveUser("4294967296", rootfs)).toThrow(/out of range/);
    expect(() => resolveUser("1:2147483648", rootfs)).toThrow(/out of range/);
  });

  test("the override is named as such in errors", () => {
    writeDb();
    expect(() => resolveUser("ghost", rootfs, "user override")).toThrow(/user override: no user "ghost"/);
  });
});

describe("hostile /etc/passwd", () => {
  test("an absolute symlink resolves inside the rootfs, not on the host", () => {
    // A host file with a user the rootfs does not have.
    const hostFile = join(dir, "host-passwd");
    writeFileSync(hostFile, "hostonly:x:0:0::/:/bin/sh\n");
    symlinkSync(hostFile, join(rootfs, "etc/passwd"));
    expect(() => resolveUser("hostonly", rootfs)).toThrow(/no user "hostonly"/);
    // The same link target, made to exist inside the rootfs, is what is read.
    mkdirSync(join(rootfs, dir), { recursive: true });
    writeFileSync(join(rootfs, hostFile), "inside:x:5:6::/:/bin/sh\n");
    expect(resolveUser("inside", rootfs)).toMatchObject({ uid: 5, gid: 6 });
  });

  test("a relative symlink climbing out with .. stays in the rootfs", () => {
    writeFileSync(join(dir, "passwd"), "hostonly:x:0:0::/:/bin/sh\n");
    symlinkSync("../../passwd", join(rootfs, "etc/passwd"));
    expect(() => resolveUser("hostonly", rootfs)).toThrow(/no user "hostonly"/);
  });

  test("a fifo is refused without blocking", () => {
    const r = Bun.spawnSync(["mkfifo", join(rootfs, "etc/passwd")]);
    expect(r.exitCode).toBe(0);
    expect(() => resolveUser("app", rootfs)).toThrow("rootfs file /etc/passwd is not a regular file");
  });

  test("a directory is refused", () => {
    mkdirSync(join(rootfs, "etc/group"));
    writeFileSync(join(rootfs, "etc/passwd"), PASSWD);
    expect(() => resolveUser("app", rootfs)).toThrow("rootfs file /etc/group is not a regular file");
  });

  test.skipIf(process.getuid?.() !== 0)("a character device (/dev/zero's numbers) is refused", () => {
    const r = Bun.spawnSync(["mknod", join(rootfs, "etc/passwd"), "c", "1", "5"]);
    expect(r.exitCode).toBe(0);
    expect(() => resolveUser("app", rootfs)).toThrow("rootfs file /etc/passwd is not a regular file");
  });

  test("an oversized file is refused, naming it", () => {
    writeFileSync(join(rootfs, "etc/passwd"), PASSWD);
    truncateSync(join(rootfs, "etc/passwd"), 2 << 20);
    expect(() => resolveUser("app", rootfs)).toThrow(/rootfs file \/etc\/passwd is larger than 1048576 bytes/);
  });

  test("a file within the bound is read whole", () => {
    writeFileSync(join(rootfs, "etc/passwd"), "abcdef");
    expect(readRootfsFile(rootfs, "/etc/passwd", 6)).toBe("abcdef");
    expect(() => readRootfsFile(rootfs, "/etc/passwd", 5)).toThrow(/larger than 5 bytes/);
    expect(readRootfsFile(rootfs, "/etc/missing")).toBeUndefined();
  });

  test("a rootfs that does not exist is an error naming the file", () => {
    expect(() => readRootfsFile(join(dir, "nope"), "/etc/passwd")).toThrow(/rootfs file \/etc\/passwd: .*ENOENT/);
  });
});
