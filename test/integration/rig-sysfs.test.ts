// A real `rignode node --mine` steering itself from a fake sysfs root (--sys-root) that the test rewrites: the
// thermal ladder (fewer Workers when hot, a pause when critical, back after the cooldown) and the battery caps,
// seen through the API and /metrics. And on this machine's own /sys: nothing invented.
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bin, freePort, getJson, ROOT, waitFor } from "../helpers";
import { EnergyCounter, readPower, SysFs, TemperatureSensor } from "../../src/tuning";

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = (p: string) => {
  const d = mkdtempSync(join(tmpdir(), p));
  dirs.push(d);
  return d;
};

function startNode(args: string[]) {
  const api = `127.0.0.1:${freePort()}`;
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("RIGNODE_") && v !== undefined) env[k] = v;
  const proc = Bun.spawn([bin(), "node", "--mine", "--p2p", "off", "--api", api, "--data-dir", tmp("rignode-rig-"), "--log-json", ...args], { stdout: "pipe", stderr: "pipe", env });
  return { proc, url: `http://${api}` };
}

/** Writes the coretemp package and core inputs of the laptop fixture (millidegrees). */
function setTemp(root: string, celsius: number) {
  const hw = join(root, "sys/class/hwmon");
  for (const h of readdirSync(hw)) {
    if (readFileSync(join(hw, h, "name"), "utf8").trim() !== "coretemp") continue;
    for (const f of readdirSync(join(hw, h))) if (/^temp\d+_input$/.test(f)) writeFileSync(join(hw, h, f), `${Math.round(celsius * 1000)}\n`);
  }
}

function setPower(root: string, online: boolean, status: string, capacity: number) {
  const ps = join(root, "sys/class/power_supply");
  writeFileSync(join(ps, "ADP1/online"), online ? "1\n" : "0\n");
  writeFileSync(join(ps, "BAT0/status"), `${status}\n`);
  writeFileSync(join(ps, "BAT0/capacity"), `${capacity}\n`);
}

const miner = async (url: string) => (await getJson(`${url}/api/miner`)) as { threads: number; active_workers: number; batch: number; state: string } | undefined;
const until = <T>(fn: () => Promise<T | undefined | false>, ms = 30_000) => waitFor(async () => (await fn()) || undefined, ms);

describe("a rig steering itself from sysfs", () => {
  test("thermal: hot runs fewer Workers, critical pauses, the cooldown passes, it comes back; battery caps 2 threads / batch 4 and restores", async () => {
    const root = tmp("rignode-sysfs-");
    cpSync(join(ROOT, "test/fixtures/sysfs/laptop"), root, { recursive: true });
    setTemp(root, 55);
    const { proc, url } = startNode(["--threads", "4", "--pin=false", "--sys-root", root, "--sensor-poll", "0.3", "--thermal-cooldown", "2"]);
    try {
      const t = await until(async () => {
        const v = await getJson(`${url}/api/miner/tuning`);
        return v?.sensors?.temperature?.status === "ok" && v;
      });
      expect(t.sensors.temperature.sensor).toContain("coretemp");
      expect(t.sensors.power.status).toBe("ac");
      expect(t.thermal.state).toBe("cool");
      await until(async () => (await miner(url))?.active_workers === 4);

      setTemp(root, 86); // hot: 4 x (1 - 0.5 x 6/10) = 2.8 -> 3
      const hot = await until(async () => {
        const m = await miner(url);
        return m && m.state === "running" && m.active_workers < 4 && m;
      });
      expect(hot.active_workers).toBe(3);
      expect((await getJson(`${url}/api/miner/tuning`)).thermal.state).toBe("hot");
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^rignode_cpu_temperature_celsius\{sensor="[^"]*coretemp[^"]*"\} 86$/m);
      expect(metrics).toMatch(/^rignode_thermal_state\{state="hot"\} 2$/m);
      expect(Number(/^rignode_miner_changes_total\{knob="threads"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);

      setTemp(root, 95); // critical
      await until(async () => (await miner(url))?.state === "paused");
      const pausedAt = (await getJson(`${url}/api/miner`)).hashes;
      setTemp(root, 50);
      await Bun.sleep(800); // cool for less than the 2 s cooldown: still held
      expect((await miner(url))?.state).toBe("paused");
      // Cooled, but the cooldown (2 s) holds it; then it mines again, all 4 threads once ramped back.
      await until(async () => (await miner(url))?.state === "running");
      await until(async () => (await miner(url))?.active_workers === 4);
      // Hashes are counted per finished batch: mining again shows as the count moving past where the pause left it.
      await until(async () => (await miner(url) as { hashes?: number } | undefined)?.hashes! > pausedAt);

      setPower(root, false, "Discharging", 80);
      const battery = await until(async () => {
        const m = await miner(url);
        return m && m.active_workers === 2 && m;
      });
      expect(battery.batch).toBe(4 * 65_536);
      setPower(root, false, "Discharging", 12); // below 20%: pause
      await until(async () => (await miner(url))?.state === "paused");
      setPower(root, true, "Charging", 13);
      const restored = await until(async () => {
        const m = await miner(url);
        return m && m.state === "running" && m.active_workers === 4 && m;
      });
      expect(restored.batch).toBe(16 * 65_536);
    } finally {
      proc.kill("SIGTERM");
    }
    expect(await proc.exited).toBe(0);
  }, 120_000);

  test("on this machine's /sys: every reading is the machine's own, or says it is unavailable", async () => {
    const sys = new SysFs("/");
    const want = { temperature: new TemperatureSensor(sys).read().status, power: readPower(sys).status, energy: new EnergyCounter(sys).read().status };
    const { proc, url } = startNode(["--threads", "1"]);
    try {
      const v = await until(async () => {
        const t = await getJson(`${url}/api/miner/tuning`);
        return t?.decision && t;
      });
      expect(v.sensors.temperature.status).toBe(want.temperature);
      expect(v.sensors.power.status).toBe(want.power);
      expect(v.sensors.energy.status).toBe(want.energy);
      if (want.temperature === "unavailable") {
        expect(v.sensors.temperature.celsius).toBeUndefined();
        expect(v.thermal.state).toBe("unavailable");
        const metrics = await (await fetch(`${url}/metrics`)).text();
        expect(metrics).not.toMatch(/^rignode_cpu_temperature_celsius/m);
        expect(metrics).toMatch(/^rignode_thermal_state\{state="unavailable"\} -1$/m);
      }
      expect(v.decision.should_mine).toBe(true);
    } finally {
      proc.kill("SIGTERM");
    }
    expect(await proc.exited).toBe(0);
  }, 60_000);
});
