import { describe, expect, it } from 'vitest';
import { DEFAULT_CRITERIA } from '../allocation/criteria.js';
import type { CommandMeta } from '../site/commands.js';
import { specFor } from '../testing/given.js';
import { roundDecider } from './decide.js';
import { PROPOSAL_CHUNK, type RoundCommand, type RoundEvent } from './messages.js';
import type { Allocation, Application, ProposalMetrics } from './schemas.js';

const spec = specFor(roundDecider);
const NOW = Date.parse('2027-05-03T09:00:00Z');
const STAFF: CommandMeta = { now: NOW, actor: { kind: 'staff', staffId: 'stf_anna' } };
const CLUB: CommandMeta = { now: NOW, actor: { kind: 'customer', customerId: 'cus_club' } };
const ROUND = 'rnd_autumn';
const UNITS = [
  { unitId: 'unt_hall', siteId: 'sit_park' },
  { unitId: 'unt_hall_a', siteId: 'sit_park' },
  { unitId: 'unt_gym', siteId: 'sit_school' },
];
const SEASON = { fromDate: '2027-08-30', toDate: '2028-03-26' };

const cmd = (type: RoundCommand['type'], data: Record<string, unknown>, meta: CommandMeta = STAFF): RoundCommand =>
  ({ type, data: { roundId: ROUND, ...data }, meta }) as RoundCommand;

const created: RoundEvent = {
  type: 'RoundCreated',
  data: { roundId: ROUND, name: 'Autumn-spring 2027-28', season: SEASON, units: UNITS, criteria: DEFAULT_CRITERIA, by: 'staff:stf_anna' },
};
const opened: RoundEvent = { type: 'RoundOpened', data: { roundId: ROUND, by: 'staff:stf_anna' } };
const closed: RoundEvent = { type: 'RoundClosed', data: { roundId: ROUND, by: 'staff:stf_anna' } };
const allocating: RoundEvent = { type: 'AllocationStarted', data: { roundId: ROUND, by: 'staff:stf_anna' } };

function application(over: Partial<Application> = {}, section: Partial<Application['sections'][number]> = {}): Application {
  return {
    applicationId: 'app_club',
    applicant: { customerId: 'cus_club', customerGroupId: 'grp_youth', freeOfCharge: true, organisationName: 'Kontula Juniors', contact: { name: 'Aino', email: 'aino@example.org' } },
    priorityCategoryId: 'children_youth',
    sections: [
      {
        sectionId: 'sec_u12',
        name: 'U12 floorball',
        wishedPerWeek: 2,
        minDurationMinutes: 60,
        maxDurationMinutes: 90,
        unitOptions: ['unt_hall_a', 'unt_hall'],
        timeWindows: [
          { weekday: 1, from: '17:00', to: '20:00', priority: 'primary' },
          { weekday: 3, from: '17:00', to: '19:00', priority: 'primary' },
          { weekday: 3, from: '19:00', to: '21:00', priority: 'secondary' },
        ],
        previousSlots: [],
        ...section,
      },
    ],
    ...over,
  };
}
const submitted = (a: Application = application()): RoundEvent => ({ type: 'ApplicationSubmitted', data: { application: a, by: 'customer:cus_club' } });

const METRICS: ProposalMetrics = {
  solver: 'heuristic', objective: 12, bound: 12.5, gap: 0.04, boundMethod: 'milp', provenOptimal: false, candidates: 40, applicants: 1, applicantsServed: 1,
  sections: 1, sectionsAllocated: 1, sectionsPartial: 0, sectionsUnallocated: 0, requestedMinutes: 180, awardedMinutes: 180, seconds: 0.1,
};

function allocation(id: string, weekday: number, startTime: string, endTime: string, over: Partial<Allocation> = {}): Allocation {
  return {
    allocationId: id, applicationId: 'app_club', sectionId: 'sec_u12', customerId: 'cus_club', unitId: 'unt_hall_a', weekday, startTime, endTime,
    locked: false, source: 'allocator', level: 1, window: 'primary', unitRank: 1, continuity: false, usableWeeks: 28, weeks: 30, value: 6, notes: [], ...over,
  };
}
const proposal = (id: string, allocations: Allocation[], basedOn = 0): RoundEvent[] => [
  { type: 'ProposalRecorded', data: { proposalId: id, basedOn, metrics: METRICS, by: 'staff:stf_anna' } },
  { type: 'ProposalAllocationsRecorded', data: { proposalId: id, allocations } },
];
const TWO = [allocation('alc_mon', 1, '17:00', '18:30'), allocation('alc_wed', 3, '17:30', '19:00')];

describe('a round', () => {
  describe('when it does not exist yet', () => {
    it('is created as a draft by staff, with its criteria as data', () =>
      spec([]).when(cmd('CreateRound', { name: 'Autumn-spring 2027-28', season: SEASON, units: UNITS, criteria: DEFAULT_CRITERIA })).then([created]));

    it('cannot be created by a customer', () =>
      spec([]).when(cmd('CreateRound', { name: 'x', season: SEASON, units: UNITS, criteria: DEFAULT_CRITERIA }, CLUB)).thenFails('FORBIDDEN'));

    it('needs a season of at least a week and each unit once', () => {
      spec([]).when(cmd('CreateRound', { name: 'x', season: { fromDate: '2027-08-30', toDate: '2027-09-01' }, units: UNITS, criteria: DEFAULT_CRITERIA })).thenFails('INVALID_SEASON');
      spec([]).when(cmd('CreateRound', { name: 'x', season: SEASON, units: [...UNITS, UNITS[0]], criteria: DEFAULT_CRITERIA })).thenFails('DUPLICATE_UNIT_OPTION');
    });

    it('refuses anything else', () => spec([]).when(cmd('OpenRound', {})).thenFails('UNKNOWN_ROUND'));
  });

  describe('when it is a draft', () => {
    it('can change its criteria and units, and then opens', () => {
      spec([created]).when(cmd('UpdateRound', { name: 'Renamed' })).then(([e]) => expect(e).toMatchObject({ type: 'RoundUpdated', data: { name: 'Renamed', units: UNITS } }));
      spec([created]).when(cmd('OpenRound', {})).then([opened]);
    });

    it('takes no applications yet', () => spec([created]).when(cmd('SubmitApplication', { application: application() }, CLUB)).thenFails('ROUND_NOT_OPEN'));

    it('cannot be closed before it opens', () => spec([created]).when(cmd('CloseRound', {})).thenFails('INVALID_STATE'));
  });

  describe('when it is open', () => {
    const given = [created, opened];

    it('takes an application from the applicant', () => spec(given).when(cmd('SubmitApplication', { application: application() }, CLUB)).then([submitted()]));

    it('no longer changes its criteria: they were published', () => spec(given).when(cmd('UpdateRound', { criteria: DEFAULT_CRITERIA })).thenFails('INVALID_STATE'));

    it('refuses an application for someone else', () =>
      spec(given)
        .when(cmd('SubmitApplication', { application: application() }, { now: NOW, actor: { kind: 'customer', customerId: 'cus_other' } }))
        .thenFails('FORBIDDEN'));

    it('refuses applications after the published closing time', () => {
      const withDeadline: RoundEvent = { ...created, data: { ...(created.data as object), applicationsCloseAt: '2027-05-01T12:00:00Z' } } as RoundEvent;
      spec([withDeadline, opened]).when(cmd('SubmitApplication', { application: application() }, CLUB)).thenFails('ROUND_NOT_OPEN');
    });

    it('refuses an unknown priority category', () =>
      spec(given).when(cmd('SubmitApplication', { application: application({ priorityCategoryId: 'vip' }) }, CLUB)).thenFails('UNKNOWN_PRIORITY_CATEGORY'));

    it('refuses a unit the round does not offer, or one listed twice', () => {
      spec(given).when(cmd('SubmitApplication', { application: application({}, { unitOptions: ['unt_pool'] }) }, CLUB)).thenFails('UNIT_NOT_IN_ROUND', (e) => expect(e.field).toBe('sections[0].unitOptions[0]'));
      spec(given).when(cmd('SubmitApplication', { application: application({}, { unitOptions: ['unt_hall', 'unt_hall'] }) }, CLUB)).thenFails('DUPLICATE_UNIT_OPTION');
    });

    it('refuses a minimum longer than the maximum', () =>
      spec(given).when(cmd('SubmitApplication', { application: application({}, { minDurationMinutes: 120, maxDurationMinutes: 90 }) }, CLUB)).thenFails('DURATION_OUT_OF_RANGE'));

    it('refuses time windows that end before they start or overlap', () => {
      spec(given)
        .when(cmd('SubmitApplication', { application: application({}, { wishedPerWeek: 1, timeWindows: [{ weekday: 1, from: '20:00', to: '18:00', priority: 'primary' }] }) }, CLUB))
        .thenFails('INVALID_TIME_WINDOW');
      spec(given)
        .when(
          cmd('SubmitApplication', {
            application: application({}, {
              wishedPerWeek: 1,
              timeWindows: [
                { weekday: 1, from: '17:00', to: '20:00', priority: 'primary' },
                { weekday: 1, from: '19:00', to: '21:00', priority: 'secondary' },
              ],
            }),
          }, CLUB),
        )
        .thenFails('INVALID_TIME_WINDOW');
    });

    it('refuses a weekday whose suitable time is shorter than the minimum duration, counting adjoining windows as one', () => {
      spec(given)
        .when(cmd('SubmitApplication', { application: application({}, { minDurationMinutes: 60, timeWindows: [{ weekday: 1, from: '17:00', to: '17:45', priority: 'primary' }, { weekday: 2, from: '17:00', to: '19:00', priority: 'primary' }] }) }, CLUB))
        .thenFails('WINDOW_TOO_SHORT');
      // 17:00-17:45 primary + 17:45-18:30 secondary is 90 minutes of suitable time.
      spec(given)
        .when(cmd('SubmitApplication', { application: application({}, { wishedPerWeek: 1, timeWindows: [{ weekday: 1, from: '17:00', to: '17:45', priority: 'primary' }, { weekday: 1, from: '17:45', to: '18:30', priority: 'secondary' }] }) }, CLUB))
        .then(([e]) => expect(e?.type).toBe('ApplicationSubmitted'));
    });

    it('refuses more slots a week than weekdays with suitable times', () =>
      spec(given).when(cmd('SubmitApplication', { application: application({}, { wishedPerWeek: 3 }) }, CLUB)).thenFails('TOO_FEW_WEEKDAYS'));

    it('refuses a period outside the season', () =>
      spec(given).when(cmd('SubmitApplication', { application: application({}, { period: { fromDate: '2027-08-01', toDate: '2027-12-20' } }) }, CLUB)).thenFails('PERIOD_OUTSIDE_SEASON'));

    it('lists every problem of a form at once, the first one as the code', () =>
      spec(given)
        .when(cmd('SubmitApplication', { application: application({ priorityCategoryId: 'vip' }, { unitOptions: ['unt_pool'], wishedPerWeek: 3 }) }, CLUB))
        .thenFails('UNKNOWN_PRIORITY_CATEGORY', (e) => {
          const issues = (e.details?.issues ?? []) as { code: string }[];
          expect(issues.map((i) => i.code)).toEqual(['UNKNOWN_PRIORITY_CATEGORY', 'UNIT_NOT_IN_ROUND', 'TOO_FEW_WEEKDAYS']);
          expect(e.message).toContain('2 more problems');
        }));

    it('refuses a section id another application uses', () =>
      spec([...given, submitted()])
        .when(cmd('SubmitApplication', { application: application({ applicationId: 'app_other', applicant: { ...application().applicant, customerId: 'cus_other' } }) }))
        .thenFails('ALREADY_EXISTS'));

    it('lets the applicant amend and withdraw its application', () => {
      const amended = application({}, { wishedPerWeek: 1 });
      spec([...given, submitted()]).when(cmd('AmendApplication', { application: amended }, CLUB)).then([{ type: 'ApplicationAmended', data: { application: amended, by: 'customer:cus_club' } }]);
      spec([...given, submitted()])
        .when(cmd('WithdrawApplication', { applicationId: 'app_club', reason: 'team folded' }, CLUB))
        .then([{ type: 'ApplicationWithdrawn', data: { applicationId: 'app_club', reason: 'team folded', by: 'customer:cus_club' } }]);
    });

    it('does not let others see or withdraw an application', () =>
      spec([...given, submitted()])
        .when(cmd('WithdrawApplication', { applicationId: 'app_club', reason: '' }, { now: NOW, actor: { kind: 'customer', customerId: 'cus_other' } }))
        .thenFails('UNKNOWN_APPLICATION'));
  });

  describe('when it is closed', () => {
    const given = [created, opened, submitted(), closed];

    it('takes no more applications', () =>
      spec(given).when(cmd('SubmitApplication', { application: application({ applicationId: 'app_late', applicant: { ...application().applicant }, sections: [{ ...application().sections[0]!, sectionId: 'sec_late' }] }) }, CLUB)).thenFails('ROUND_NOT_OPEN'));

    it('starts the allocation', () => spec(given).when(cmd('StartAllocation', {})).then([allocating]));

    it('has no proposal to record yet', () =>
      spec(given).when(cmd('RecordProposal', { proposalId: 'prp_1', basedOn: 0, metrics: METRICS, allocations: TWO, sections: [] })).thenFails('INVALID_STATE'));
  });

  describe('when it is allocating', () => {
    const given = [created, opened, submitted(), closed, allocating];

    it('records a proposal with its metrics, in chunks', () => {
      spec(given)
        .when(cmd('RecordProposal', { proposalId: 'prp_1', basedOn: 0, metrics: METRICS, allocations: TWO, sections: [] }))
        .then(proposal('prp_1', TWO));
      // Over one chunk of allocations: 501 one-hour slots on three units through the week.
      const apps = Array.from({ length: 26 }, (_, i) =>
        application({
          applicationId: `app_${i}`,
          applicant: { ...application().applicant, customerId: `cus_${i}` },
          sections: Array.from({ length: 20 }, (_, j) => ({ ...application().sections[0]!, sectionId: `sec_${i}_${j}`, wishedPerWeek: 1 })),
        }),
      );
      const slots = Array.from({ length: PROPOSAL_CHUNK + 1 }, (_, k) => {
        const app = apps[Math.floor(k / 20)]!;
        const hour = k % 24;
        return allocation(`alc_${k}`, 1 + (Math.floor(k / 24) % 7), `${String(hour).padStart(2, '0')}:00`, `${String(hour + 1).padStart(2, '0')}:00`, {
          applicationId: app.applicationId,
          customerId: app.applicant.customerId,
          sectionId: app.sections[k % 20]!.sectionId,
          unitId: UNITS[Math.floor(k / 168)]!.unitId,
        });
      });
      spec([created, opened, ...apps.map((a) => submitted(a)), closed, allocating])
        .when(cmd('RecordProposal', { proposalId: 'prp_1', basedOn: 0, metrics: METRICS, allocations: slots, sections: [] }))
        .then((events) => {
          expect(events.map((e) => e.type)).toEqual(['ProposalRecorded', 'ProposalAllocationsRecorded', 'ProposalAllocationsRecorded']);
          expect(events.slice(1).map((e) => (e.data as { allocations: unknown[] }).allocations.length)).toEqual([PROPOSAL_CHUNK, 1]);
        });
    });

    it('refuses a proposal that gives a section more slots than it asked for, or two on one weekday', () => {
      spec(given)
        .when(cmd('RecordProposal', { proposalId: 'prp_1', basedOn: 0, metrics: METRICS, allocations: [...TWO, allocation('alc_fri', 5, '17:00', '18:00')], sections: [] }))
        .thenFails('SECTION_FULL');
      spec(given)
        .when(cmd('RecordProposal', { proposalId: 'prp_1', basedOn: 0, metrics: METRICS, allocations: [allocation('alc_a', 1, '17:00', '18:00'), allocation('alc_b', 1, '18:00', '19:00')], sections: [] }))
        .thenFails('SLOT_CONFLICT');
    });

    it('refuses a proposal computed before a staff change (stale)', () =>
      spec([...given, ...proposal('prp_1', TWO), { type: 'AllocationLocked', data: { allocationId: 'alc_mon', by: 'staff:stf_anna' } }])
        .when(cmd('RecordProposal', { proposalId: 'prp_2', basedOn: 0, metrics: METRICS, allocations: TWO, sections: [] }))
        .thenFails('STALE_PROPOSAL'));

    it('keeps locked allocations through a re-run, and refuses a re-run that moves one', () => {
      const locked = [...given, ...proposal('prp_1', TWO), { type: 'AllocationLocked', data: { allocationId: 'alc_mon', by: 'staff:stf_anna' } } as RoundEvent];
      const kept = [{ ...TWO[0]!, locked: true }, allocation('alc_new', 3, '19:00', '20:30')];
      spec(locked).when(cmd('RecordProposal', { proposalId: 'prp_2', basedOn: 1, metrics: METRICS, allocations: kept, sections: [] })).then(proposal('prp_2', kept, 1));
      spec(locked)
        .when(cmd('RecordProposal', { proposalId: 'prp_2', basedOn: 1, metrics: METRICS, allocations: [allocation('alc_mon', 1, '18:00', '19:30', { locked: true })], sections: [] }))
        .thenFails('STALE_PROPOSAL');
    });

    it('lets staff lock, move (which locks), add and remove allocations', () => {
      const withProposal = [...given, ...proposal('prp_1', [TWO[0]!])];
      spec(withProposal).when(cmd('LockAllocation', { allocationId: 'alc_mon' })).then([{ type: 'AllocationLocked', data: { allocationId: 'alc_mon', by: 'staff:stf_anna' } }]);
      spec(withProposal).when(cmd('UnlockAllocation', { allocationId: 'alc_mon' })).then([]);
      const moved = allocation('alc_mon', 1, '18:00', '19:30');
      spec(withProposal)
        .when(cmd('MoveAllocation', { allocation: moved }))
        .then([{ type: 'AllocationMoved', data: { allocation: { ...moved, locked: true, source: 'staff' }, by: 'staff:stf_anna' } }]);
      const added = allocation('alc_add', 3, '17:00', '18:00');
      spec(withProposal).when(cmd('AddAllocation', { allocation: added })).then([{ type: 'AllocationAdded', data: { allocation: { ...added, locked: true, source: 'staff' }, by: 'staff:stf_anna' } }]);
      spec(withProposal)
        .when(cmd('RemoveAllocation', { allocationId: 'alc_mon', reason: 'hall floor renovation' }))
        .then([{ type: 'AllocationRemoved', data: { allocationId: 'alc_mon', reason: 'hall floor renovation', by: 'staff:stf_anna' } }]);
    });

    it('refuses a move onto a weekday the section already has, an unknown allocation, and a customer', () => {
      const withProposal = [...given, ...proposal('prp_1', TWO)];
      spec(withProposal).when(cmd('MoveAllocation', { allocation: allocation('alc_mon', 3, '20:00', '21:00') })).thenFails('SLOT_CONFLICT');
      spec(withProposal).when(cmd('LockAllocation', { allocationId: 'alc_nope' })).thenFails('UNKNOWN_ALLOCATION');
      spec(withProposal).when(cmd('LockAllocation', { allocationId: 'alc_mon' }, CLUB)).thenFails('FORBIDDEN');
      spec(withProposal).when(cmd('AddAllocation', { allocation: allocation('alc_3', 5, '17:00', '18:00') })).thenFails('SECTION_FULL');
      spec(withProposal).when(cmd('MoveAllocation', { allocation: allocation('alc_mon', 1, '18:00', '19:00', { unitId: 'unt_pool' }) })).thenFails('UNIT_NOT_IN_ROUND');
    });

    it('declines a section with a reason, dropping its allocations, and refuses to allocate to it', () => {
      const declined: RoundEvent = { type: 'SectionDeclined', data: { applicationId: 'app_club', sectionId: 'sec_u12', reason: 'not a Helsinki association', by: 'staff:stf_anna' } };
      spec([...given, ...proposal('prp_1', TWO)]).when(cmd('DeclineSection', { sectionId: 'sec_u12', reason: 'not a Helsinki association' })).then([declined]);
      const state = spec([...given, ...proposal('prp_1', TWO)]).when(cmd('DeclineSection', { sectionId: 'sec_u12', reason: 'x' })).state();
      expect(state.allocations.size).toBe(0);
      spec([...given, declined]).when(cmd('RecordProposal', { proposalId: 'prp_2', basedOn: 1, metrics: METRICS, allocations: TWO, sections: [] })).thenFails('SECTION_DECLINED');
      spec([...given, declined]).when(cmd('ReinstateSection', { sectionId: 'sec_u12' })).then(([e]) => expect(e?.type).toBe('SectionReinstated'));
      spec([...given]).when(cmd('DeclineSection', { sectionId: 'sec_nope', reason: 'x' })).thenFails('UNKNOWN_SECTION');
    });

    it('approves the current proposal, naming a series for each allocation', () => {
      const series = [{ allocationId: 'alc_mon', seriesId: 'ser_1' }, { allocationId: 'alc_wed', seriesId: 'ser_2' }];
      spec([...given, ...proposal('prp_1', TWO)])
        .when(cmd('ApproveAllocation', { proposalId: 'prp_1', series }))
        .then([{ type: 'AllocationApproved', data: { proposalId: 'prp_1', series, by: 'staff:stf_anna' } }]);
      spec(given).when(cmd('ApproveAllocation', { proposalId: 'prp_1', series: [] })).thenFails('NO_PROPOSAL');
      spec([...given, ...proposal('prp_1', TWO), ...proposal('prp_2', TWO)]).when(cmd('ApproveAllocation', { proposalId: 'prp_1', series })).thenFails('STALE_PROPOSAL');
      spec([...given, ...proposal('prp_1', TWO)]).when(cmd('ApproveAllocation', { proposalId: 'prp_1', series: series.slice(0, 1) })).thenFails('VALIDATION_FAILED');
    });
  });

  describe('when it is approved', () => {
    const series = [{ allocationId: 'alc_mon', seriesId: 'ser_1' }, { allocationId: 'alc_wed', seriesId: 'ser_2' }];
    const given = [created, opened, submitted(), closed, allocating, ...proposal('prp_1', TWO), { type: 'AllocationApproved', data: { proposalId: 'prp_1', series, by: 'staff:stf_anna' } } as RoundEvent];
    const result = (allocationId: string, seriesId: string) => ({
      allocationId,
      seriesId,
      outcome: 'created' as const,
      booked: 28,
      rejected: [{ date: '2027-12-06', reason: 'HOLIDAY', message: 'Independence Day' }],
    });

    it('records each series the engine booked, with its rejected occurrences', () =>
      spec(given).when(cmd('RecordSeriesResult', { result: result('alc_mon', 'ser_1') })).then([{ type: 'SeriesResultRecorded', data: { result: result('alc_mon', 'ser_1') } }]));

    it('refuses a result for another series than the one approved', () =>
      spec(given).when(cmd('RecordSeriesResult', { result: result('alc_mon', 'ser_2') })).thenFails('VALIDATION_FAILED'));

    it('publishes only when every series is booked', () => {
      spec(given).when(cmd('PublishRound', {})).thenFails('APPROVAL_INCOMPLETE', (e) => expect(e.details?.allocationIds).toEqual(['alc_mon', 'alc_wed']));
      spec([...given, { type: 'SeriesResultRecorded', data: { result: result('alc_mon', 'ser_1') } }, { type: 'SeriesResultRecorded', data: { result: result('alc_wed', 'ser_2') } }])
        .when(cmd('PublishRound', {}))
        .then([{ type: 'RoundPublished', data: { roundId: ROUND, by: 'staff:stf_anna' } }]);
    });

    it('is no longer adjusted', () => spec(given).when(cmd('LockAllocation', { allocationId: 'alc_mon' })).thenFails('INVALID_STATE'));
  });

  it('refuses a command for another round than its partition holds', () =>
    spec([created]).when({ type: 'OpenRound', data: { roundId: 'rnd_other' }, meta: STAFF }).thenFails('WRONG_PARTITION'));
});
