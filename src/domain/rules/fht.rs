//! Extra grant for refugees with serious disabilities or behavioural problems (FHT, SPEC §5; seed 004,
//! Rundskriv 05/2021): grant-year periods, deadlines, the formal grounds for rejection, documents, accounts,
//! conversion of tilskudd 1 to 2, proposed amounts and the status of an application.
//!
//! Everything here is pure: [`vurder`] takes one application and the DSF extract, earlier decisions and
//! rates (through [`FhtGrunnlag`]) and returns a [`Vurdering`] that carries both the result and the trail
//! of every check with its rule id ([`ExplainStep`]). [`explain_soknad`] and the `vedtak.csv` writer read
//! the same value, so the explanation can never disagree with the output. [`frister`] lists upcoming
//! deadlines for `tilskudd frister`. Decisions where the SPEC is silent are in `docs/ekstra.md`.

use crate::domain::ids::{Fnr, Knr};
use crate::domain::money::{fmt_money, round_ore};
use crate::domain::person::{Extract, Person};
use crate::domain::rates::{MissingRate, RateCode, RateTable};
use crate::domain::rules::it;
use crate::domain::soknad::{FhtType, Grunnlag, Soknad, TidligereVedtak};
use chrono::{Datelike, Months, NaiveDate};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::fmt;

/// Highest grant year of the ordinary period for tilskudd 2 (FHT-3 `utenfor_periode`).
pub const SISTE_ORDINAERE_AR: u8 = 5;

/// `d` plus `m` months, always added to the anchor `d` with end-of-month clamping (31.01 + 1 = 28/29.02).
/// `None` only beyond chrono's date range.
pub fn add_months(d: NaiveDate, m: u32) -> Option<NaiveDate> {
    d.checked_add_months(Months::new(m))
}

/// A grant-year period (FHT-1), both ends inclusive.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Periode {
    pub fra: NaiveDate,
    pub til: NaiveDate,
}

/// FHT-1: år n runs from S + 12(n−1) months to S + 12n months − 1 day. Months are added to the anchor S
/// (never stepped year by year), so settlement on 31.01 or 29.02 clamps the same way every year.
/// `None` for n = 0 or a date beyond chrono's range.
pub fn periode(s: NaiveDate, n: u8) -> Option<Periode> {
    if n == 0 {
        return None;
    }
    let n = u32::from(n);
    let fra = add_months(s, 12 * (n - 1))?;
    let til = add_months(s, 12 * n)?.pred_opt()?;
    Some(Periode { fra, til })
}

/// FHT-2: the application deadline for år n with k = `FHT-FRIST-MND` (of the year the period starts):
/// a first application (no earlier grant for the person) for år 1 or 2 is due S + 12 + k months,
/// otherwise år n is due S + 12n + k months. (A granted deferral replaces this; see [`vurder`].)
pub fn soknadsfrist(s: NaiveDate, n: u8, forste_soknad: bool, k: u32) -> Option<NaiveDate> {
    if n == 0 {
        return None;
    }
    let basis = if forste_soknad && n <= 2 {
        12
    } else {
        12 * u32::from(n)
    };
    add_months(s, basis + k)
}

/// FHT-5: an unaccompanied minor may get tilskudd 2 beyond år 5 for a grant year that ends no later than
/// 31 December of the year they turn 20.
pub fn fht5_innenfor(fodselsdato: NaiveDate, periode: &Periode) -> bool {
    match NaiveDate::from_ymd_opt(fodselsdato.year() + 20, 12, 31) {
        Some(grense) => periode.til <= grense,
        None => false,
    }
}

/// FHT-7: accounts for a budget-based tilskudd 2 are due 1 month after the period ends (added to the
/// period's last day, with clamping).
pub fn regnskapsfrist(periode: &Periode) -> Option<NaiveDate> {
    add_months(periode.til, 1)
}

/// One step of the trail of an application: the rule id and what was compared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExplainStep {
    pub regel: &'static str,
    pub tekst: String,
}

impl fmt::Display for ExplainStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<6} {}", self.regel, self.tekst)
    }
}

/// The formal grounds for rejection (FHT-3), in SPEC order (the order they are listed in `arsaker`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Avvisningsgrunn {
    ForSent,
    IkkeAvtale,
    UtenforIntegreringstilskudd,
    UnderInnslagssum,
    T1AlleredeInnvilget,
    T1FeilAr,
    UtenforPeriode,
    ManglerInnvilgetAr12,
}

impl Avvisningsgrunn {
    pub fn as_str(&self) -> &'static str {
        match self {
            Avvisningsgrunn::ForSent => "for_sent",
            Avvisningsgrunn::IkkeAvtale => "ikke_avtale",
            Avvisningsgrunn::UtenforIntegreringstilskudd => "utenfor_integreringstilskudd",
            Avvisningsgrunn::UnderInnslagssum => "under_innslagssum",
            Avvisningsgrunn::T1AlleredeInnvilget => "t1_allerede_innvilget",
            Avvisningsgrunn::T1FeilAr => "t1_feil_ar",
            Avvisningsgrunn::UtenforPeriode => "utenfor_periode",
            Avvisningsgrunn::ManglerInnvilgetAr12 => "mangler_innvilget_ar1_2",
        }
    }
}

/// A missing document (FHT-6).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Dokument {
    Samtykke,
    /// Tilskudd 1: a medical statement (`legeerklaering`) or a specialist statement.
    Legeerklaering,
    /// Tilskudd 2: a specialist statement.
    Spesialisterklaering,
    Sosialrapport,
    Tiltaksbeskrivelse,
    Budsjettskjema,
}

impl Dokument {
    /// The code in `arsaker`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Dokument::Samtykke => "mangler_samtykke",
            Dokument::Legeerklaering => "mangler_legeerklaering",
            Dokument::Spesialisterklaering => "mangler_spesialisterklaering",
            Dokument::Sosialrapport => "mangler_sosialrapport",
            Dokument::Tiltaksbeskrivelse => "mangler_tiltaksbeskrivelse",
            Dokument::Budsjettskjema => "mangler_budsjettskjema",
        }
    }
}

/// Notes on the amounts and accounts (FHT-4, FHT-7); they do not change the status.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Merknad {
    AnsvarsgruppeBegrenset,
    OverMaks,
    KreverForklaring,
}

impl Merknad {
    pub fn as_str(&self) -> &'static str {
        match self {
            Merknad::AnsvarsgruppeBegrenset => "ansvarsgruppe_begrenset",
            Merknad::OverMaks => "over_maks",
            Merknad::KreverForklaring => "krever_forklaring",
        }
    }
}

/// FHT-9 status, in precedence order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Status {
    Avvist,
    VenterRegnskap,
    Ufullstendig,
    Omgjoring,
    KlarForVurdering,
}

impl Status {
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Avvist => "avvist",
            Status::VenterRegnskap => "venter_regnskap",
            Status::Ufullstendig => "ufullstendig",
            Status::Omgjoring => "omgjoring",
            Status::KlarForVurdering => "klar_for_vurdering",
        }
    }

    /// A rejection on formal grounds may be appealed (seed 004 §6.3); the other statuses are not decisions.
    pub fn klagbar(&self) -> bool {
        *self == Status::Avvist
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The result of checking one application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vurdering {
    pub soknad_id: String,
    pub fnr: Fnr,
    pub kommunenummer: Knr,
    pub typ: FhtType,
    pub tilskuddsar: u8,
    /// `None` when the person is not in the extract or n = 0.
    pub periode: Option<Periode>,
    /// The deadline applied (FHT-2, FHT-8 or the granted deferral).
    pub frist: Option<NaiveDate>,
    pub status: Status,
    pub avvisningsgrunner: Vec<Avvisningsgrunn>,
    pub venter_regnskap: bool,
    pub mangler: Vec<Dokument>,
    pub merknader: Vec<Merknad>,
    /// 0 when `avvist` (FHT-9).
    pub foreslatt_belop: Decimal,
    /// The `FHT1` rate (tilskudd 1) or `FHT2-MAKS` (tilskudd 2); `None` when no period is known.
    pub maks_belop: Option<Decimal>,
    /// FHT-7: underspend on last grant year's budget-based tilskudd 2.
    pub tilbakebetaling: Decimal,
    /// FHT-7: overspend on last grant year's budget-based tilskudd 2, capped at that year's maximum.
    pub refusjon: Decimal,
    /// Rates used, (year, code), in order of use, without duplicates.
    pub satser: Vec<(i32, RateCode)>,
    pub steps: Vec<ExplainStep>,
}

impl Vurdering {
    /// All codes for the `arsaker` column: rejection grounds (SPEC order), `venter_regnskap`, missing
    /// documents, then notes.
    pub fn arsaker(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self.avvisningsgrunner.iter().map(|a| a.as_str()).collect();
        if self.venter_regnskap {
            v.push("venter_regnskap");
        }
        v.extend(self.mangler.iter().map(|d| d.as_str()));
        v.extend(self.merknader.iter().map(|m| m.as_str()));
        v
    }
}

/// The data an application is checked against: the DSF extract, earlier decisions and the rates.
pub struct FhtGrunnlag<'a> {
    personer: HashMap<Fnr, &'a Person>,
    vedtak: HashMap<Fnr, Vec<&'a TidligereVedtak>>,
    rates: &'a RateTable,
}

impl<'a> FhtGrunnlag<'a> {
    pub fn new(
        personer: &'a [Person],
        vedtak: &'a [TidligereVedtak],
        rates: &'a RateTable,
    ) -> FhtGrunnlag<'a> {
        let mut by_fnr: HashMap<Fnr, Vec<&'a TidligereVedtak>> = HashMap::new();
        for v in vedtak {
            by_fnr.entry(v.fnr).or_default().push(v);
        }
        for list in by_fnr.values_mut() {
            list.sort_by(|a, b| {
                (a.tilskuddsar, a.typ, &a.soknad_id, a.line).cmp(&(
                    b.tilskuddsar,
                    b.typ,
                    &b.soknad_id,
                    b.line,
                ))
            });
        }
        FhtGrunnlag {
            personer: personer.iter().map(|p| (p.fnr, p)).collect(),
            vedtak: by_fnr,
            rates,
        }
    }

    pub fn person(&self, fnr: &Fnr) -> Option<&'a Person> {
        self.personer.get(fnr).copied()
    }

    /// Earlier decisions for the person, by grant year.
    pub fn vedtak_for(&self, fnr: &Fnr) -> &[&'a TidligereVedtak] {
        self.vedtak.get(fnr).map(Vec::as_slice).unwrap_or(&[])
    }

    fn rate(
        &self,
        year: i32,
        kode: RateCode,
        used: &mut Vec<(i32, RateCode)>,
    ) -> Result<Decimal, MissingRate> {
        let r = self.rates.get(year, kode)?;
        if !used.contains(&(year, kode)) {
            used.push((year, kode));
        }
        Ok(r.belop)
    }

    /// `FHT-FRIST-MND` of `year` as a whole, non-negative number of months.
    fn frist_mnd(&self, year: i32, used: &mut Vec<(i32, RateCode)>) -> Result<u32, FhtError> {
        let k = self.rate(year, RateCode::FhtFristMnd, used)?;
        if k.fract() != Decimal::ZERO || k < Decimal::ZERO || k > Decimal::from(120) {
            return Err(FhtError::BadFristMnd { year, value: k });
        }
        k.to_u32().ok_or(FhtError::BadFristMnd { year, value: k })
    }
}

/// What stops an FHT run: a missing rate, or a rate that cannot be a count of months.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FhtError {
    #[error(transparent)]
    MissingRate(#[from] MissingRate),
    #[error("rate FHT-FRIST-MND for year {year} is {value}: it must be a whole number of months (0–120)")]
    BadFristMnd { year: i32, value: Decimal },
}

/// An [`FhtError`] with the application it stopped at, so the user can find the row: `soknad_id`, input line
/// and the person's number masked (SPEC §6: terminal output masks it). FHT-4/FHT-2 need the rates of the year the
/// applied-for period starts; a missing one stops the whole run (docs/ekstra.md decision 13).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("application '{}' (line {line}, fnr {}): {feil}", crate::domain::ids::mask_text(soknad_id), fnr.masked())]
pub struct SoknadFeil {
    pub soknad_id: String,
    pub line: u64,
    pub fnr: Fnr,
    /// Not a `#[source]`: the message already holds it (an error chain would print it twice).
    pub feil: FhtError,
}

impl SoknadFeil {
    fn of(sok: &Soknad, feil: FhtError) -> SoknadFeil {
        SoknadFeil {
            soknad_id: sok.soknad_id.clone(),
            line: sok.line,
            fnr: sok.fnr,
            feil,
        }
    }
}

/// The person's standing in the integration-grant scheme as FHT-3 needs it.
struct PersonStatus {
    /// The settlement date S (IT-4: a newborn's own birth date).
    s: NaiveDate,
    /// Why the person is outside the integration grant (IT-1, IT-4, IT-5); empty if inside.
    utenfor: Vec<String>,
    ikke_avtale: bool,
    steps: Vec<ExplainStep>,
}

fn d(x: NaiveDate) -> String {
    x.format("%d.%m.%Y").to_string()
}

fn opt_d(x: Option<NaiveDate>) -> String {
    x.map(d).unwrap_or_else(|| "–".into())
}

/// IT-1, IT-4, IT-5 and the agreement flag, from the DSF extract only (never from the application).
fn person_status(p: &Person, g: &FhtGrunnlag) -> PersonStatus {
    let mut st = PersonStatus {
        s: p.bosettingsdato,
        utenfor: Vec::new(),
        ikke_avtale: false,
        steps: Vec::new(),
    };
    // IT-1 target group.
    let it1 = it::it1_target_group(p.malgruppe);
    if it1.is_err() {
        st.utenfor.push("målgruppe utenfor (IT-1)".into());
    }
    st.steps.push(ExplainStep {
        regel: "IT-1",
        tekst: format!(
            "målgruppe {} → {}",
            p.malgruppe,
            if it1.is_err() {
                "utenfor integreringstilskuddet"
            } else {
                "i målgruppen"
            }
        ),
    });
    // IT-4 newborns (the predicate is shared with the integration grant).
    if let Some(mor_fnr) = &p.mor_fnr {
        match g.person(mor_fnr) {
            Some(mor) => {
                let (limit, innenfor) = match it::it4_newborn(p.fodselsdato, mor.bosettingsdato) {
                    it::Newborn::No => (None, true),
                    it::Newborn::Within { limit } => (Some(limit), true),
                    it::Newborn::TooLate { limit } => (Some(limit), false),
                };
                if let Some(grense) = limit {
                    st.s = p.fodselsdato;
                    st.steps.push(ExplainStep {
                        regel: "IT-4",
                        tekst: format!(
                            "født {} etter mors bosetting {}; grense mors bosetting + 6 mnd = {} → {}; bosettingsdato = fødselsdato {}",
                            d(p.fodselsdato),
                            d(mor.bosettingsdato),
                            d(grense),
                            if innenfor { "innenfor" } else { "født mer enn 6 mnd etter (fodt_etter_6_mnd)" },
                            d(p.fodselsdato)
                        ),
                    });
                    if !innenfor {
                        st.utenfor
                            .push("født mer enn 6 mnd etter mors bosetting (IT-4)".into());
                    }
                    // Seed 004 §3.1: for a child born after settlement, the mother must be settled by
                    // agreement.
                    if !mor.bosatt_etter_avtale {
                        st.ikke_avtale = true;
                        st.steps.push(ExplainStep {
                            regel: "FHT-3",
                            tekst: "mor er ikke bosatt etter avtale (seed 004 §3.1)".into(),
                        });
                    }
                }
            }
            None => st.steps.push(ExplainStep {
                regel: "IT-4",
                tekst: "mor ikke funnet i uttrekket (mor_ikke_funnet): barnets egen rad brukes"
                    .into(),
            }),
        }
    }
    // IT-5 family immigration, 5-year rule (the predicate is shared with the integration grant).
    if p.malgruppe.is_family() {
        if let (Some(ref_fnr), Some(soknadsdato)) = (&p.referanse_fnr, p.familie_soknadsdato) {
            match g.person(ref_fnr) {
                Some(r) => {
                    let res = it::it5_family_five_years(r.bosettingsdato, soknadsdato);
                    let over = res.is_err();
                    st.steps.push(ExplainStep {
                        regel: "IT-5",
                        tekst: format!(
                            "familiesøknad {} mot referansens bosetting {} + 5 år = {} → {}",
                            d(soknadsdato),
                            d(r.bosettingsdato),
                            d(it::add_months(r.bosettingsdato, 60)),
                            if over {
                                "over 5 år (familie_over_5_ar)"
                            } else {
                                "innenfor"
                            }
                        ),
                    });
                    if over {
                        st.utenfor
                            .push("familieinnvandring over 5 år (IT-5)".into());
                    }
                }
                None => st.steps.push(ExplainStep {
                    regel: "IT-5",
                    tekst: "referansepersonen er ikke i uttrekket: advarsel, ikke utelukket".into(),
                }),
            }
        }
    }
    if !p.bosatt_etter_avtale {
        st.ikke_avtale = true;
    }
    st.steps.push(ExplainStep {
        regel: "FHT-3",
        tekst: format!(
            "bosatt etter avtale (DSF): {}",
            if p.bosatt_etter_avtale { "ja" } else { "nei" }
        ),
    });
    st
}

/// Checks one application (FHT-1 … FHT-9). Stops only on a missing or unusable rate.
pub fn vurder(sok: &Soknad, g: &FhtGrunnlag) -> Result<Vurdering, FhtError> {
    let mut steps = Vec::new();
    let mut used = Vec::new();
    let mut grunner: Vec<Avvisningsgrunn> = Vec::new();
    let mut merknader = Vec::new();
    let n = sok.tilskuddsar;
    // A decision with this application's own id is the decision on it, not an earlier one (a re-run
    // after the decision must give the same result).
    let vedtak: Vec<&TidligereVedtak> = g
        .vedtak_for(&sok.fnr)
        .iter()
        .copied()
        .filter(|v| v.soknad_id != sok.soknad_id)
        .collect();
    let innvilget = |v: &&&TidligereVedtak| v.innvilget_belop > Decimal::ZERO;

    steps.push(ExplainStep {
        regel: "FHT",
        tekst: format!(
            "søknad {}: {} for {}, tilskuddsår {}, kommune {}, mottatt {}, beløp {}",
            sok.soknad_id,
            sok.typ.as_str(),
            sok.fnr.masked(),
            n,
            sok.kommunenummer,
            d(sok.mottatt_dato),
            fmt_money(sok.belop)
        ),
    });

    // Person from the DSF extract.
    let person = g.person(&sok.fnr);
    let pst = person.map(|p| person_status(p, g));
    match &pst {
        None => {
            steps.push(ExplainStep {
                regel: "FHT-3",
                tekst: "personen er ikke i DSF-uttrekket → utenfor_integreringstilskudd".into(),
            });
            grunner.push(Avvisningsgrunn::UtenforIntegreringstilskudd);
        }
        Some(st) => {
            steps.extend(st.steps.iter().cloned());
            if st.ikke_avtale {
                grunner.push(Avvisningsgrunn::IkkeAvtale);
            }
            if !st.utenfor.is_empty() {
                steps.push(ExplainStep {
                    regel: "FHT-3",
                    tekst: format!("utenfor_integreringstilskudd: {}", st.utenfor.join("; ")),
                });
                grunner.push(Avvisningsgrunn::UtenforIntegreringstilskudd);
            }
        }
    }

    // FHT-1 period.
    let s = pst.as_ref().map(|st| st.s);
    let per = s.and_then(|s| periode(s, n));
    if let (Some(s), Some(p)) = (s, per) {
        steps.push(ExplainStep {
            regel: "FHT-1",
            tekst: format!(
                "bosatt {}: år {} = {} + {} mnd … {} + {} mnd − 1 dag = {}–{}",
                d(s),
                n,
                d(s),
                12 * (u32::from(n).saturating_sub(1)),
                d(s),
                12 * u32::from(n),
                d(p.fra),
                d(p.til)
            ),
        });
    }
    let rate_year = per.map(|p| p.fra.year());

    // FHT-8 conversion candidate: tilskudd 2 for the year of a granted tilskudd 1.
    let t1_samme_ar: Option<&TidligereVedtak> = if sok.typ == FhtType::T2 {
        vedtak
            .iter()
            .filter(innvilget)
            .find(|v| v.typ == FhtType::T1 && v.tilskuddsar == n)
            .copied()
    } else {
        None
    };

    // FHT-2 deadline.
    let tidligere_innvilget = vedtak.iter().filter(innvilget).any(|v| v.tilskuddsar < n);
    let mut frist = None;
    if let (Some(s), Some(p), Some(y)) = (s, per, rate_year) {
        let ordinaer = if let Some(t1) = t1_samme_ar {
            steps.push(ExplainStep {
                regel: "FHT-8",
                tekst: format!(
                    "tilskudd 1 innvilget for år {} (vedtak {}): omgjøring må søkes innen periodens slutt {}",
                    n, t1.soknad_id, d(p.til)
                ),
            });
            Some(p.til)
        } else {
            let k = g.frist_mnd(y, &mut used)?;
            let forste = !tidligere_innvilget;
            let f = soknadsfrist(s, n, forste, k);
            let mnd = if forste && n <= 2 {
                12
            } else {
                12 * u32::from(n)
            };
            steps.push(ExplainStep {
                regel: "FHT-2",
                tekst: format!(
                    "{}; k = FHT-FRIST-MND {} = {}; frist = {} + {} + {} mnd = {}",
                    if forste {
                        "ingen tidligere innvilgelse (første søknad)"
                    } else {
                        "tidligere innvilget for et tidligere år"
                    },
                    y,
                    k,
                    d(s),
                    mnd,
                    k,
                    opt_d(f)
                ),
            });
            f
        };
        frist = ordinaer;
        if let Some(u) = sok.utsatt_frist {
            steps.push(ExplainStep {
                regel: "FHT-2",
                tekst: format!(
                    "innvilget utsatt frist {} erstatter {}",
                    d(u),
                    opt_d(ordinaer)
                ),
            });
            frist = Some(u);
        }
        if let Some(f) = frist {
            let sent = sok.mottatt_dato > f;
            steps.push(ExplainStep {
                regel: "FHT-3",
                tekst: format!(
                    "mottatt {} {} frist {} → {}",
                    d(sok.mottatt_dato),
                    if sent { ">" } else { "≤" },
                    d(f),
                    if sent { "for_sent" } else { "i tide" }
                ),
            });
            if sent {
                grunner.push(Avvisningsgrunn::ForSent);
            }
        }
    } else if person.is_some() && n == 0 {
        steps.push(ExplainStep {
            regel: "FHT-1",
            tekst: "tilskuddsår 0 finnes ikke (år 1 er bosettingsåret)".into(),
        });
    }

    // FHT-3 type/year rules.
    match sok.typ {
        FhtType::T1 => {
            if let Some(v) = vedtak
                .iter()
                .filter(innvilget)
                .find(|v| v.typ == FhtType::T1)
            {
                steps.push(ExplainStep {
                    regel: "FHT-3",
                    tekst: format!(
                        "tilskudd 1 er alt innvilget (vedtak {}, år {}) → t1_allerede_innvilget",
                        v.soknad_id, v.tilskuddsar
                    ),
                });
                grunner.push(Avvisningsgrunn::T1AlleredeInnvilget);
            }
            if !(1..=2).contains(&n) {
                steps.push(ExplainStep {
                    regel: "FHT-3",
                    tekst: format!(
                        "tilskudd 1 bare for år 1 eller 2, søkt for år {n} → t1_feil_ar"
                    ),
                });
                grunner.push(Avvisningsgrunn::T1FeilAr);
            }
        }
        FhtType::T2 => {
            if n == 0 || n > SISTE_ORDINAERE_AR {
                let em = person.filter(|p| p.enslig_mindrearig);
                let fht5 = match (em, per) {
                    (Some(p), Some(pr)) => {
                        let ok = fht5_innenfor(p.fodselsdato, &pr);
                        steps.push(ExplainStep {
                            regel: "FHT-5",
                            tekst: format!(
                                "enslig mindreårig født {}: år {} slutter {} {} 31.12.{} (året personen fyller 20) → {}",
                                d(p.fodselsdato),
                                n,
                                d(pr.til),
                                if ok { "≤" } else { ">" },
                                p.fodselsdato.year() + 20,
                                if ok { "innenfor" } else { "utenfor_periode" }
                            ),
                        });
                        ok
                    }
                    _ => false,
                };
                if !fht5 {
                    if em.is_none() {
                        steps.push(ExplainStep {
                            regel: "FHT-3",
                            tekst: format!(
                                "tilskudd 2 for år {n} er utenfor år 1–{SISTE_ORDINAERE_AR} (ikke enslig mindreårig) → utenfor_periode"
                            ),
                        });
                    }
                    grunner.push(Avvisningsgrunn::UtenforPeriode);
                }
            }
            if n >= 3 {
                let har = vedtak
                    .iter()
                    .filter(innvilget)
                    .any(|v| (1..=2).contains(&v.tilskuddsar));
                steps.push(ExplainStep {
                    regel: "FHT-3",
                    tekst: format!(
                        "tilskudd 2 for år {n} krever innvilget tilskudd for år 1 eller 2: {}",
                        if har {
                            "finnes"
                        } else {
                            "mangler → mangler_innvilget_ar1_2"
                        }
                    ),
                });
                if !har {
                    grunner.push(Avvisningsgrunn::ManglerInnvilgetAr12);
                }
            }
        }
    }

    // FHT-4 amounts and threshold (rates of the year the applied-for period starts).
    let mut maks_belop = None;
    let mut foreslatt = Decimal::ZERO;
    if let Some(y) = rate_year {
        let mut belop = sok.belop;
        if let Some(ag) = sok.ansvarsgruppe {
            let ag_maks = g.rate(y, RateCode::FhtAnsvarsgruppeMaks, &mut used)?;
            if ag > ag_maks {
                let over = ag - ag_maks;
                belop -= over;
                merknader.push(Merknad::AnsvarsgruppeBegrenset);
                steps.push(ExplainStep {
                    regel: "FHT-4",
                    tekst: format!(
                        "ansvarsgruppe {} > FHT-ANSVARSGRUPPE-MAKS {} {}: {} − {} = {} (ansvarsgruppe_begrenset)",
                        fmt_money(ag),
                        y,
                        fmt_money(ag_maks),
                        fmt_money(sok.belop),
                        fmt_money(over),
                        fmt_money(belop)
                    ),
                });
            }
        }
        let (terskel_kode, maks_kode) = match sok.typ {
            FhtType::T1 => (RateCode::Fht1Terskel, RateCode::Fht1),
            FhtType::T2 => (RateCode::Fht2Terskel, RateCode::Fht2Maks),
        };
        let terskel = g.rate(y, terskel_kode, &mut used)?;
        let under = belop < terskel;
        steps.push(ExplainStep {
            regel: "FHT-3",
            tekst: format!(
                "beløp {} {} {} {} {} → {}",
                fmt_money(belop),
                if under { "<" } else { "≥" },
                terskel_kode,
                y,
                fmt_money(terskel),
                if under {
                    "under_innslagssum"
                } else {
                    "innslagssum nådd"
                }
            ),
        });
        if under {
            grunner.push(Avvisningsgrunn::UnderInnslagssum);
        }
        let maks = g.rate(y, maks_kode, &mut used)?;
        maks_belop = Some(maks);
        match sok.typ {
            FhtType::T1 => {
                foreslatt = maks;
                steps.push(ExplainStep {
                    regel: "FHT-4",
                    tekst: format!("tilskudd 1 = FHT1 {} = {}", y, fmt_money(maks)),
                });
            }
            FhtType::T2 => {
                foreslatt = belop.min(maks).max(Decimal::ZERO);
                if belop > maks {
                    merknader.push(Merknad::OverMaks);
                }
                steps.push(ExplainStep {
                    regel: "FHT-4",
                    tekst: format!(
                        "tilskudd 2 = min({}, FHT2-MAKS {} {}) = {}{}",
                        fmt_money(belop),
                        y,
                        fmt_money(maks),
                        fmt_money(foreslatt),
                        if belop > maks { " (over_maks)" } else { "" }
                    ),
                });
            }
        }
    }

    // FHT-6 documents.
    let dok = &sok.dokumenter;
    let mut mangler = Vec::new();
    if !dok.samtykke {
        mangler.push(Dokument::Samtykke);
    }
    match sok.typ {
        FhtType::T1 if !(dok.legeerklaering || dok.spesialisterklaering) => {
            mangler.push(Dokument::Legeerklaering)
        }
        FhtType::T2 if !dok.spesialisterklaering => mangler.push(Dokument::Spesialisterklaering),
        _ => {}
    }
    if !dok.sosialrapport {
        mangler.push(Dokument::Sosialrapport);
    }
    if !dok.tiltaksbeskrivelse {
        mangler.push(Dokument::Tiltaksbeskrivelse);
    }
    if !dok.budsjettskjema {
        mangler.push(Dokument::Budsjettskjema);
    }
    steps.push(ExplainStep {
        regel: "FHT-6",
        tekst: if mangler.is_empty() {
            "alle dokumenter er med".into()
        } else {
            format!(
                "mangler: {}",
                mangler
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        },
    });

    // FHT-7 accounts of earlier budget-based tilskudd 2 grants.
    let budsjett_t2 = |v: &&&TidligereVedtak| {
        v.typ == FhtType::T2
            && v.grunnlag == Grunnlag::Budsjett
            && v.innvilget_belop > Decimal::ZERO
    };
    let mut venter = false;
    for v in vedtak
        .iter()
        .filter(budsjett_t2)
        .filter(|v| v.tilskuddsar < n)
    {
        let mottatt = v.regnskap_mottatt.is_some() || v.regnskap_belop.is_some();
        steps.push(ExplainStep {
            regel: "FHT-7",
            tekst: format!(
                "tilskudd 2 år {} innvilget på budsjett (vedtak {}): regnskap {}",
                v.tilskuddsar,
                v.soknad_id,
                if mottatt {
                    format!("mottatt {}", opt_d(v.regnskap_mottatt))
                } else {
                    "ikke mottatt → venter_regnskap".into()
                }
            ),
        });
        if !mottatt {
            venter = true;
        }
    }
    let mut tilbakebetaling = Decimal::ZERO;
    let mut refusjon = Decimal::ZERO;
    if n >= 2 {
        for v in vedtak
            .iter()
            .filter(budsjett_t2)
            .filter(|v| v.tilskuddsar == n - 1)
        {
            let Some(r) = v.regnskap_belop else { continue };
            if r < v.innvilget_belop {
                let t = v.innvilget_belop - r;
                tilbakebetaling += t;
                steps.push(ExplainStep {
                    regel: "FHT-7",
                    tekst: format!(
                        "regnskap år {} {} < innvilget {} → tilbakebetaling {} (trekkes i denne tildelingen, ellers kreves tilbake)",
                        v.tilskuddsar,
                        fmt_money(r),
                        fmt_money(v.innvilget_belop),
                        fmt_money(t)
                    ),
                });
            } else if r > v.innvilget_belop {
                // The cap is the maximum of the earlier grant year; it needs that year's period start.
                let prev_year = s
                    .and_then(|s| periode(s, v.tilskuddsar))
                    .map(|p| p.fra.year());
                let tak = match prev_year {
                    Some(py) => Some((py, g.rate(py, RateCode::Fht2Maks, &mut used)?)),
                    None => None,
                };
                let dekket = tak.map_or(r, |(_, m)| r.min(m));
                let rf = (dekket - v.innvilget_belop).max(Decimal::ZERO);
                refusjon += rf;
                if !merknader.contains(&Merknad::KreverForklaring) {
                    merknader.push(Merknad::KreverForklaring);
                }
                steps.push(ExplainStep {
                    regel: "FHT-7",
                    tekst: format!(
                        "regnskap år {} {} > innvilget {} → refusjon min({}, FHT2-MAKS {}) − {} = {} (krever_forklaring)",
                        v.tilskuddsar,
                        fmt_money(r),
                        fmt_money(v.innvilget_belop),
                        fmt_money(r),
                        tak.map_or("–".to_string(), |(py, m)| format!("{py} {}", fmt_money(m))),
                        fmt_money(v.innvilget_belop),
                        fmt_money(rf)
                    ),
                });
            }
        }
    }

    // FHT-8 conversion amount.
    let omgjoring = t1_samme_ar.is_some();
    if let Some(t1) = t1_samme_ar {
        if maks_belop.is_some() {
            let fra = foreslatt;
            foreslatt = (foreslatt - t1.innvilget_belop).max(Decimal::ZERO);
            steps.push(ExplainStep {
                regel: "FHT-8",
                tekst: format!(
                    "omgjøring: {} − utbetalt tilskudd 1 {} = {}",
                    fmt_money(fra),
                    fmt_money(t1.innvilget_belop),
                    fmt_money(foreslatt)
                ),
            });
        }
    }

    // FHT-9 status.
    grunner.sort();
    grunner.dedup();
    merknader.sort();
    let status = if !grunner.is_empty() {
        Status::Avvist
    } else if venter {
        Status::VenterRegnskap
    } else if !mangler.is_empty() {
        Status::Ufullstendig
    } else if omgjoring {
        Status::Omgjoring
    } else {
        Status::KlarForVurdering
    };
    if status == Status::Avvist {
        foreslatt = Decimal::ZERO;
    }
    let foreslatt = round_ore(foreslatt);
    steps.push(ExplainStep {
        regel: "FHT-9",
        tekst: format!(
            "status {}{}; foreslått beløp {}",
            status,
            if grunner.is_empty() {
                String::new()
            } else {
                format!(
                    " ({})",
                    grunner
                        .iter()
                        .map(|g| g.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            fmt_money(foreslatt)
        ),
    });

    Ok(Vurdering {
        soknad_id: sok.soknad_id.clone(),
        fnr: sok.fnr,
        kommunenummer: sok.kommunenummer,
        typ: sok.typ,
        tilskuddsar: n,
        periode: per,
        frist,
        status,
        avvisningsgrunner: grunner,
        venter_regnskap: venter,
        mangler,
        merknader,
        foreslatt_belop: foreslatt,
        maks_belop,
        tilbakebetaling: round_ore(tilbakebetaling),
        refusjon: round_ore(refusjon),
        satser: used,
        steps,
    })
}

/// Checks every application, sorted by `soknad_id` (then source line) so outputs are deterministic.
/// An error names the application it stopped at ([`SoknadFeil`]).
pub fn vurder_alle(soknader: &[Soknad], g: &FhtGrunnlag) -> Result<Vec<Vurdering>, SoknadFeil> {
    let mut sorted: Vec<&Soknad> = soknader.iter().collect();
    sorted.sort_by(|a, b| (&a.soknad_id, a.line).cmp(&(&b.soknad_id, b.line)));
    sorted
        .into_iter()
        .map(|s| vurder(s, g).map_err(|e| SoknadFeil::of(s, e)))
        .collect()
}

/// The trail of one application: every check with its rule id and the dates it compared.
/// `None` when no application has that id.
pub fn explain_soknad(
    soknad_id: &str,
    soknader: &[Soknad],
    g: &FhtGrunnlag,
) -> Option<Result<Vec<ExplainStep>, SoknadFeil>> {
    let sok = soknader.iter().find(|s| s.soknad_id == soknad_id)?;
    Some(
        vurder(sok, g)
            .map(|v| v.steps)
            .map_err(|e| SoknadFeil::of(sok, e)),
    )
}

/// The trails of every application for one person (for `tilskudd explain FNR`), by `soknad_id`.
pub fn explain_person(
    fnr: &Fnr,
    soknader: &[Soknad],
    g: &FhtGrunnlag,
) -> Result<Vec<(String, Vec<ExplainStep>)>, SoknadFeil> {
    let mine: Vec<Soknad> = soknader.iter().filter(|s| s.fnr == *fnr).cloned().collect();
    Ok(vurder_alle(&mine, g)?
        .into_iter()
        .map(|v| (v.soknad_id, v.steps))
        .collect())
}

/// What a deadline in `tilskudd frister` is for.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum FristType {
    /// Application for tilskudd 1 or 2 (år 1–2 before any grant).
    SoknadT1EllerT2,
    /// Application for tilskudd 2.
    SoknadT2,
    /// Accounts for a budget-based tilskudd 2 (FHT-7).
    Regnskap,
}

impl FristType {
    pub fn as_str(&self) -> &'static str {
        match self {
            FristType::SoknadT1EllerT2 => "soknad T1/T2",
            FristType::SoknadT2 => "soknad T2",
            FristType::Regnskap => "regnskap T2",
        }
    }
}

/// One upcoming (or, for accounts, overdue) deadline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frist {
    pub frist: NaiveDate,
    pub fnr: Fnr,
    pub kommunenummer: Knr,
    pub typ: FristType,
    pub tilskuddsar: u8,
    pub periode: Periode,
    /// Accounts deadline already passed without accounts received.
    pub forfalt: bool,
}

/// The municipality of residence on `dato`: the settlement municipality, then each move on or before
/// `dato` in date order (ties in file order, SPEC §1.4).
fn kommune_pa(p: &Person, extract: &Extract, dato: NaiveDate) -> Knr {
    let mut moves: Vec<(usize, &crate::domain::person::Flytting)> = extract
        .flyttinger
        .iter()
        .enumerate()
        .filter(|(_, f)| f.fnr == p.fnr && f.flyttedato <= dato)
        .collect();
    moves.sort_by_key(|(i, f)| (f.flyttedato, *i));
    moves
        .last()
        .map_or(p.bosettingskommune, |(_, f)| f.til_kommune)
}

/// Deadlines for `tilskudd frister` (FHT-2, FHT-7) between `from` and `to` (inclusive), soonest first:
/// for every person who may be eligible (in the IT target group, settled by agreement, with a grant year
/// left in år 1–5 or under FHT-5) the next application deadline, and every accounts deadline of a
/// budget-based tilskudd 2 without accounts that falls on or before `to` (earlier ones marked `forfalt`).
/// Without earlier decisions only the first-application deadlines (år 1–2) are known.
pub fn frister(
    extract: &Extract,
    vedtak: &[TidligereVedtak],
    rates: &RateTable,
    from: NaiveDate,
    to: NaiveDate,
    kommune: Option<Knr>,
) -> Result<Vec<Frist>, FhtError> {
    let g = FhtGrunnlag::new(&extract.personer, vedtak, rates);
    let mut used = Vec::new();
    let mut out = Vec::new();
    for p in &extract.personer {
        let st = person_status(p, &g);
        if !st.utenfor.is_empty() || st.ikke_avtale {
            continue;
        }
        let knr = kommune_pa(p, extract, from);
        if kommune.is_some_and(|k| k != knr) {
            continue;
        }
        let s = st.s;
        let pv = g.vedtak_for(&p.fnr);
        let innvilget: Vec<&&TidligereVedtak> = pv
            .iter()
            .filter(|v| v.innvilget_belop > Decimal::ZERO)
            .collect();
        let t1_innvilget = innvilget.iter().any(|v| v.typ == FhtType::T1);
        let har_ar12 = innvilget.iter().any(|v| (1..=2).contains(&v.tilskuddsar));

        // Next application deadline.
        let mut neste: Option<Frist> = None;
        for n in 1u8..=30 {
            let Some(per) = periode(s, n) else { break };
            let fht5 = p.enslig_mindrearig && fht5_innenfor(p.fodselsdato, &per);
            if n > SISTE_ORDINAERE_AR && !fht5 {
                break;
            }
            if pv.iter().any(|v| v.tilskuddsar == n) {
                continue; // already applied for and decided
            }
            if n >= 3 && !har_ar12 {
                break; // mangler_innvilget_ar1_2: no later year can be applied for
            }
            let forste = !innvilget.iter().any(|v| v.tilskuddsar < n);
            // Lower bound of the deadline (k ≥ 0); rates are only needed for years that can fall in the
            // window. [decision: FHT-FRIST-MND ≤ 24 is assumed when skipping years long past; docs/ekstra.md]
            let lav = soknadsfrist(s, n, forste, 0);
            if lav.is_none_or(|l| l > to) {
                break;
            }
            if lav.is_some_and(|l| add_months(l, 24).is_some_and(|h| h < from)) {
                continue;
            }
            let k = g.frist_mnd(per.fra.year(), &mut used)?;
            let Some(f) = soknadsfrist(s, n, forste, k) else {
                continue;
            };
            if f < from || f > to {
                continue;
            }
            let typ = if n <= 2 && !t1_innvilget {
                FristType::SoknadT1EllerT2
            } else {
                FristType::SoknadT2
            };
            if neste.as_ref().is_none_or(|x| f < x.frist) {
                neste = Some(Frist {
                    frist: f,
                    fnr: p.fnr,
                    kommunenummer: knr,
                    typ,
                    tilskuddsar: n,
                    periode: per,
                    forfalt: false,
                });
            }
        }
        out.extend(neste);

        // FHT-7 accounts deadlines.
        for v in innvilget
            .iter()
            .filter(|v| v.typ == FhtType::T2 && v.grunnlag == Grunnlag::Budsjett)
            .filter(|v| v.regnskap_mottatt.is_none() && v.regnskap_belop.is_none())
        {
            let Some(per) = periode(s, v.tilskuddsar) else {
                continue;
            };
            let Some(f) = regnskapsfrist(&per) else {
                continue;
            };
            if f <= to {
                out.push(Frist {
                    frist: f,
                    fnr: p.fnr,
                    kommunenummer: knr,
                    typ: FristType::Regnskap,
                    tilskuddsar: v.tilskuddsar,
                    periode: per,
                    forfalt: f < from,
                });
            }
        }
    }
    out.sort_by(|a, b| {
        (a.frist, a.kommunenummer, a.fnr, a.typ, a.tilskuddsar).cmp(&(
            b.frist,
            b.kommunenummer,
            b.fnr,
            b.typ,
            b.tilskuddsar,
        ))
    });
    Ok(out)
}
