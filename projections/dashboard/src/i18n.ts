/** The dashboard's words in Finnish and English (figures' own names come from the API's columns). */
export type Lang = 'fi' | 'en';

export const TEXT = {
  title: { fi: 'Tilojen käyttö', en: 'Space utilization' },
  signIn: { fi: 'Kirjaudu', en: 'Sign in' },
  signOut: { fi: 'Kirjaudu ulos', en: 'Sign out' },
  keyLabel: { fi: 'Analyytikon API-avain', en: 'Analyst API key' },
  keyHint: { fi: 'Avaimen saa varaustoimistosta (oikeus: analyst).', en: 'Ask the booking office for a key with the analyst scope.' },
  keyRefused: { fi: 'Avain ei kelpaa tai siltä puuttuu analyst-oikeus.', en: 'The key is not valid or lacks the analyst scope.' },
  site: { fi: 'Toimipiste', en: 'Site' },
  unit: { fi: 'Varausyksikkö', en: 'Reservation unit' },
  customerGroup: { fi: 'Asiakasryhmä', en: 'Customer group' },
  all: { fi: 'Kaikki', en: 'All' },
  from: { fi: 'Alkaen', en: 'From' },
  to: { fi: 'Päättyen', en: 'To' },
  loading: { fi: 'Haetaan…', en: 'Loading…' },
  bookedRate: { fi: 'Varausaste', en: 'Booked rate' },
  usedRate: { fi: 'Käyttöaste (anturit)', en: 'Used rate (sensors)' },
  noShowRate: { fi: 'Käyttämättä jääneet varatut tunnit', en: 'Booked hours without use' },
  unbookedUse: { fi: 'Varaamaton käyttö', en: 'Unbooked use' },
  costOfVacancy: { fi: 'Käyttämättömyyden hinta', en: 'Cost of vacancy' },
  sla: { fi: 'Käsitelty lupauksen ajassa', en: 'Decided within the promise' },
  heatmapTitle: { fi: 'Varausaste viikonpäivän ja kellonajan mukaan', en: 'Booked rate by weekday and hour' },
  trendTitle: { fi: 'Viikoittainen kehitys', en: 'Weekly trend' },
  costTitle: { fi: 'Suurin käyttämättömyyden hinta', en: 'Highest cost of vacancy' },
  noShowTitle: { fi: 'Käyttämättä jääneet varaukset ja varaamaton käyttö', en: 'No-shows and unbooked use' },
  slaTitle: { fi: 'Palvelutasolupaus: käsittelyaika', en: 'Service level: time to decision' },
  downloadCsv: { fi: 'Lataa CSV', en: 'Download CSV' },
  hours: { fi: 'h', en: 'h' },
  weekday: { fi: 'Viikonpäivä', en: 'Weekday' },
  hour: { fi: 'Kellonaika', en: 'Hour' },
  week: { fi: 'Viikko', en: 'Week' },
  vacancyCost: { fi: 'Käyttämättömien tuntien kustannus', en: 'Cost of vacant hours' },
  lostRevenue: { fi: 'Menetetyt tulot', en: 'Lost revenue' },
  noShowHours: { fi: 'Käyttämättä jääneet varatut tunnit', en: 'Booked hours without use' },
  unbookedUseHours: { fi: 'Varaamaton käyttö (h)', en: 'Unbooked use (h)' },
  withinPromise: { fi: 'Lupauksen ajassa', en: 'Within the promise' },
  late: { fi: 'Myöhässä tai odottaa yli lupauksen', en: 'Late or waiting past the promise' },
  medianHours: { fi: 'Mediaani (h)', en: 'Median (h)' },
  doorCommands: { fi: 'Ovikomennot lupauksen ajassa', en: 'Door commands within the promise' },
  devicesOnline: { fi: 'Laitteet verkossa', en: 'Devices on line' },
  noData: { fi: 'Ei tietoja valitulla rajauksella.', en: 'No data for this selection.' },
  asOf: { fi: 'Tiedot tapahtumaan', en: 'Figures up to event' },
  notByGroup: { fi: '(kaikki ryhmät)', en: '(all groups)' },
} as const;

export type TextKey = keyof typeof TEXT;

export const WEEKDAYS: Record<Lang, string[]> = {
  fi: ['ma', 'ti', 'ke', 'to', 'pe', 'la', 'su'],
  en: ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'],
};

export function t(key: TextKey, lang: Lang): string {
  return TEXT[key][lang];
}

export const percent = (x: number | null | undefined, lang: Lang): string =>
  x === null || x === undefined ? '–' : new Intl.NumberFormat(lang === 'fi' ? 'fi-FI' : 'en-GB', { style: 'percent', maximumFractionDigits: 1 }).format(x);

export const euros = (cents: number | null | undefined, lang: Lang): string =>
  cents === null || cents === undefined
    ? '–'
    : new Intl.NumberFormat(lang === 'fi' ? 'fi-FI' : 'en-GB', { style: 'currency', currency: 'EUR', maximumFractionDigits: 0 }).format(cents / 100);

export const hoursText = (h: number | null | undefined, lang: Lang): string =>
  h === null || h === undefined ? '–' : `${new Intl.NumberFormat(lang === 'fi' ? 'fi-FI' : 'en-GB', { maximumFractionDigits: 1 }).format(h)} h`;
