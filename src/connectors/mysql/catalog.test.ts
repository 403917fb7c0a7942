/**
 * The binlog settings check, fed the shape `SHOW GLOBAL VARIABLES` returns (name -> value
 * strings), as MariaDB 10.11 and MySQL 8 print them. A server with the binlog disabled is
 * also started for real by tests/bad-input-mysql.test.ts.
 */
import { describe, expect, it } from "vitest";
import { checkBinlogSettings } from "./catalog.js";

/** What the machine's MariaDB 10.11 answers (scripts/setup-services.sh). */
const MARIADB_OK = { version: "10.11.19-MariaDB-0+deb12u1-log", log_bin: "ON", binlog_format: "ROW", binlog_row_image: "FULL", binlog_row_metadata: "FULL", server_id: "1" };

describe("checkBinlogSettings", () => {
  it("accepts a ROW binlog with full images (MariaDB and MySQL 8 spellings)", () => {
    expect(checkBinlogSettings(MARIADB_OK)).toEqual([]);
    expect(checkBinlogSettings({ version: "8.0.36", log_bin: "1", binlog_format: "ROW", binlog_row_image: "FULL", server_id: "1", gtid_mode: "ON" })).toEqual([]);
  });

  it("names a disabled binary log and how to enable it", () => {
    const p = checkBinlogSettings({ ...MARIADB_OK, log_bin: "OFF", binlog_format: "MIXED" });
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/binary log is disabled \(log_bin is OFF\): enable it in the server config \(log_bin = <basename>, server_id = <n>\) and restart/);
  });

  it("names a format other than ROW and row images other than FULL", () => {
    const p = checkBinlogSettings({ ...MARIADB_OK, binlog_format: "MIXED", binlog_row_image: "MINIMAL" });
    expect(p).toHaveLength(2);
    expect(p[0]).toMatch(/binlog_format is MIXED, change capture needs ROW: SET GLOBAL binlog_format = 'ROW'/);
    expect(p[1]).toMatch(/binlog_row_image is MINIMAL, change capture needs FULL/);
  });

  it("refuses server_id 0", () => {
    expect(checkBinlogSettings({ ...MARIADB_OK, server_id: "0" })[0]).toMatch(/server_id is 0/);
  });
});
