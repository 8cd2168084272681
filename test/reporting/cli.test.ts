/**
 * `ward report` as a child process (dist/, after `npm run build`) against the fake CyberTipline:
 * the client is killed with SIGKILL at every step (while the server has done the call and not yet
 * answered), and a rerun finishes exactly one report with every file. Also build (exit 1 on schema
 * errors), status, retract, profile and credentials storage, legal hold and the NCA export.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sceneImage } from '../../src/demo/images.js';
import { EvidenceStore } from '../../src/server/evidence.js';
import { PROJECT_ROOT } from '../helpers/fixtures.js';
import { type OpenedStore, openStore, STORE_KINDS } from '../server/stores.js';
import { type Call, FakeCyberTipline } from './fake-cybertipline.js';
import { newReview, PROFILE, sharedAvailable, XSD, XSD_SKIP } from './items.js';

const BIN = join(PROJECT_ROOT, 'bin', 'ward.js');
const built = existsSync(join(PROJECT_ROOT, 'dist', 'cli', 'commands', 'report.js'));
if (!sharedAvailable) console.warn(XSD_SKIP);
if (!built) console.warn('dist/ has no report command: run `npm run build`; the ward report CLI tests are skipped');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function ward(args: string[], env: Record<string, string>, onSpawn?: (c: ChildProcess) => void): Promise<Run> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    c.stdout.on('data', (d) => {
      stdout += d;
    });
    c.stderr.on('data', (d) => {
      stderr += d;
    });
    c.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    onSpawn?.(c);
  });
}

describe.skipIf(!sharedAvailable || !built).each(STORE_KINDS)('ward report (%s)', (kind) => {
  let opened: OpenedStore;
  let dir: string;
  let evidence: EvidenceStore;
  const key = randomBytes(32).toString('hex');
  let profileFile: string;

  beforeAll(async () => {
    opened = await openStore(kind);
    dir = mkdtempSync(join(tmpdir(), 'ward-report-'));
    evidence = new EvidenceStore(opened.store, { key: Buffer.from(key, 'hex') });
    profileFile = join(dir, 'reporter.json');
    writeFileSync(profileFile, JSON.stringify(PROFILE));
  });
  afterAll(async () => {
    await opened.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  const confirmed = async (n: number): Promise<number[]> => {
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      const bytes = await sceneImage(Math.floor(Math.random() * 1e9));
      const item = await opened.store.insertReview({
        ...newReview(bytes, `scene-${i}.jpg`),
        evidenceId: await evidence.put(bytes, 'image/jpeg'),
      });
      await opened.store.decideReview(
        item.id,
        'confirmed',
        { action: 'confirm', bank: 'known', labels: ['A2'] },
        'key:t',
        new Date().toISOString(),
        ['open'],
      );
      ids.push(item.id);
    }
    return ids;
  };

  const env = (extra: Record<string, string> = {}): Record<string, string> => ({
    ...opened.env,
    WARD_NCMEC_USERNAME: 'user',
    WARD_NCMEC_PASSWORD: 'pass',
    WARD_NCMEC_XSD: XSD,
    WARD_EGRESS_ALLOW: '127.0.0.1',
    WARD_EVIDENCE_KEY: key,
    ...extra,
  });

  const kills: [Call, number][] = [
    ['submit', 1],
    ['upload', 1],
    ['fileinfo', 1],
    ['upload', 2],
    ['fileinfo', 2],
    ['finish', 1],
  ];
  for (const [call, nth] of kills) {
    it(`SIGKILL at ${call} #${nth}: a rerun finishes exactly one report with every file`, async () => {
      const fake = new FakeCyberTipline({ xsdPath: XSD });
      const url = await fake.start();
      try {
        const ids = await confirmed(2);
        const args = [
          'report',
          'ncmec',
          'submit',
          ...ids.map(String),
          '--endpoint',
          url,
          '--reporter',
          profileFile,
          ...opened.args,
        ];
        let child: ChildProcess | undefined;
        fake.onDone = async (c, n) => {
          if (c === call && n === nth && child) {
            const gone = new Promise((r) => child?.once('close', r));
            child.kill('SIGKILL');
            await gone;
          }
        };
        const first = await ward(args, env(), (c) => {
          child = c;
        });
        expect(first.signal).toBe('SIGKILL');
        fake.onDone = undefined;
        const second = await ward(args, env());
        expect(second.stderr).toBe('');
        expect(second.code).toBe(0);
        expect(second.stdout).toMatch(/finished/);
        const finished = fake.finished();
        expect(finished).toHaveLength(1);
        expect(finished[0]?.files).toHaveLength(2);
        expect(finished[0]?.files.every((f) => f.details !== undefined)).toBe(true);
        // Nothing else is left open at NCMEC except, after a lost /submit answer, an empty report
        // that NCMEC deletes (the audit log says so).
        const others = [...fake.reports.values()].filter((r) => r.state !== 'finished');
        if (call === 'submit') expect(others.every((r) => r.files.length === 0)).toBe(true);
        else expect(others.every((r) => r.state === 'retracted')).toBe(true);
        // A third run is a no-op on the finished report.
        const third = await ward(args, env());
        expect(third.code).toBe(0);
        expect(fake.finished()).toHaveLength(1);
      } finally {
        await fake.stop();
      }
    });
  }

  it('without xmllint, build fails with WARD_ERR_DEPENDENCY_MISSING (exit 4)', async () => {
    const ids = await confirmed(1);
    const r = await ward(
      ['report', 'ncmec', 'build', String(ids[0]), '--reporter', profileFile, ...opened.args],
      env({ WARD_XMLLINT: join(dir, 'no-such-xmllint') }),
    );
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('WARD_ERR_DEPENDENCY_MISSING');
  });

  it('build prints schema-valid XML (exit 0) and exits 1 naming the element when the schema refuses it', async () => {
    const ids = await confirmed(1);
    const ok = await ward(
      ['report', 'ncmec', 'build', ...ids.map(String), '--reporter', profileFile, ...opened.args],
      env(),
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/^<\?xml[\s\S]*<report [\s\S]*<fileDetails /);
    const strict = join(dir, 'strict.xsd');
    writeFileSync(
      strict,
      readFileSync(XSD, 'utf8').replace(
        '<xs:enumeration value="Child Pornography (possession, manufacture, and distribution)" />',
        '',
      ),
    );
    const out = join(dir, 'report.xml');
    const bad = await ward(
      ['report', 'ncmec', 'build', ...ids.map(String), '--reporter', profileFile, '--out', out, ...opened.args],
      env({ WARD_NCMEC_XSD: strict }),
    );
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/report: element incidentType/);
    expect(readFileSync(out, 'utf8')).toContain('<incidentSummary>');
  });

  it('stores the profile and sealed credentials; status, retract, hold and the NCA export', async () => {
    const fake = new FakeCyberTipline({ xsdPath: XSD });
    const url = await fake.start();
    try {
      const secret = randomBytes(32).toString('hex');
      const noCreds = env({ WARD_SECRET_KEY: secret, WARD_NCMEC_USERNAME: '', WARD_NCMEC_PASSWORD: '' });
      expect((await ward(['report', 'profile', 'set', profileFile, ...opened.args], noCreds)).code).toBe(0);
      const set = await ward(
        ['report', 'ncmec', 'credentials', 'set', ...opened.args],
        env({ WARD_SECRET_KEY: secret }),
      );
      expect(set.code).toBe(0);
      expect(set.stdout + set.stderr).not.toContain('pass\n');
      const ids = await confirmed(1);
      fake.inject({ call: 'upload', action: 'error', code: 1110 });
      const failed = await ward(
        ['report', 'ncmec', 'submit', String(ids[0]), '--endpoint', url, ...opened.args],
        noCreds,
      );
      expect(failed.code).toBe(2);
      expect(failed.stderr).toMatch(/WARD_ERR_REPORT_REJECTED.*1110.*Request-ID/);
      const list = await ward(['report', 'status', ...opened.args], noCreds);
      const id = /report (\d+)\s+ncmec\s+submitted/.exec(list.stdout)?.[1];
      expect(id).toBeDefined();
      const one = await ward(['report', 'status', id as string, ...opened.args], noCreds);
      expect(one.stdout).toMatch(/NCMEC deletes it unfinished at/);
      expect(one.stdout).toMatch(/retained until/);
      const retract = await ward(['report', 'retract', id as string, ...opened.args], noCreds);
      expect(retract.code).toBe(0);
      expect(retract.stdout).toMatch(/retracted/);
      expect([...fake.reports.values()][0]?.state).toBe('retracted');
      const hold = await ward(['report', 'hold', id as string, ...opened.args], noCreds);
      expect(hold.stdout).toMatch(/legal hold/);
      const ncaDir = join(dir, 'nca');
      const nca = await ward(
        ['report', 'nca', String(ids[0]), '--out', ncaDir, '--priority', 'P1', ...opened.args],
        noCreds,
      );
      expect(nca.code).toBe(0);
      const ncaId = /report (\d+)\s+nca/.exec(nca.stdout)?.[1];
      const json = JSON.parse(readFileSync(join(ncaDir, `nca-report-${ncaId}.json`), 'utf8'));
      expect(json.priority.level).toBe('P1');
      expect(json.requiredByNca).toBe(true);
      expect(readFileSync(join(ncaDir, `nca-report-${ncaId}.html`), 'utf8')).toContain('Priority P1');
      const ref = await ward(
        ['report', 'nca', 'reference', ncaId as string, 'NCA-URN-TEST-1', ...opened.args],
        noCreds,
      );
      expect(ref.stdout).toMatch(/reference NCA-URN-TEST-1/);
      const actions = (await opened.store.listAudit({ limit: 10_000 })).map((a) => a.action);
      for (const a of [
        'report.profile',
        'report.credentials',
        'report.retract',
        'report.hold',
        'report.nca-export',
        'report.nca-reference',
      ]) {
        expect(actions).toContain(a);
      }
      const stored = await opened.store.getReportSetting('ncmec.credentials');
      expect(stored).toMatch(/^wsec1\./);
      expect(stored).not.toContain('pass');
    } finally {
      await fake.stop();
    }
  });
});
