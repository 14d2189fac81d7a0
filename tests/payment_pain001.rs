//! Payment files (SPEC §6, T-3, T-5; issue 4): utbetaling.csv and the ISO 20022 pain.001.001.03 file, read
//! back with quick-xml and checked against hand-computed sums, the register and the schema's element order.

mod payment_fixture;

use payment_fixture::*;
use quick_xml::events::Event;
use quick_xml::Reader;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use tilskudd::domain::ids::{Kontonr, Orgnr};
use tilskudd::domain::rates::RateStatus;
use tilskudd::output::payment::{self, PaymentError, PaymentOptions};
use tilskudd::output::OutputDir;

/// A minimal element tree for reading the file back.
#[derive(Debug, Default, Clone)]
struct El {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<El>,
}

impl El {
    fn child(&self, name: &str) -> &El {
        self.children
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("{} has no {name}", self.name))
    }
    fn path(&self, p: &str) -> &El {
        p.split('/').fold(self, |e, n| e.child(n))
    }
    fn all(&self, name: &str) -> Vec<&El> {
        self.children.iter().filter(|c| c.name == name).collect()
    }
    fn names(&self) -> Vec<&str> {
        self.children.iter().map(|c| c.name.as_str()).collect()
    }
}

fn parse_xml(s: &str) -> El {
    let mut r = Reader::from_str(s);
    let mut stack: Vec<El> = vec![El::default()];
    loop {
        match r.read_event().expect("well-formed XML") {
            Event::Start(e) => {
                let attrs = e
                    .attributes()
                    .map(|a| {
                        let a = a.unwrap();
                        (
                            a.key.as_ref().to_string(),
                            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                                .unwrap()
                                .into_owned(),
                        )
                    })
                    .collect();
                stack.push(El {
                    name: e.name().as_ref().to_string(),
                    attrs,
                    ..El::default()
                });
            }
            Event::End(_) => {
                let done = stack.pop().unwrap();
                stack.last_mut().unwrap().children.push(done);
            }
            Event::Empty(e) => {
                stack.last_mut().unwrap().children.push(El {
                    name: e.name().as_ref().to_string(),
                    ..El::default()
                });
            }
            Event::Text(t) => {
                // Indentation between elements is whitespace only; text inside an element is kept as is
                // (trimming would eat the spaces around `&amp;`).
                let raw = t.into_inner();
                if !raw.trim().is_empty() {
                    stack.last_mut().unwrap().text.push_str(&raw);
                }
            }
            Event::GeneralRef(g) => {
                let name = g.into_inner().into_owned();
                let ch = match name.as_str() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    other => panic!("unexpected entity &{other};"),
                };
                stack.last_mut().unwrap().text.push_str(ch);
            }
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(stack.len(), 1, "all elements closed");
    stack.pop().unwrap().children.into_iter().next().unwrap()
}

/// `seen` uses the elements of `schema` in the schema's order (a subsequence), and only those.
fn assert_schema_order(seen: &[&str], schema: &[&str], what: &str) {
    let mut pos = 0;
    for s in seen {
        let i = schema[pos..]
            .iter()
            .position(|x| x == s)
            .unwrap_or_else(|| panic!("{what}: {s} out of schema order or unknown in {seen:?}"));
        // CdtTrfTxInf repeats (maxOccurs unbounded): stay on it.
        pos += if *s == "CdtTrfTxInf" { i } else { i + 1 };
    }
}

fn dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn opts() -> PaymentOptions {
    let mut o = PaymentOptions::new(date(2024, 9, 30));
    o.debtor_account = Some(debtor());
    o
}

fn run(
    result: &tilskudd::domain::basis::TerminResult,
    rates: &tilskudd::domain::rates::RateTable,
    o: &PaymentOptions,
) -> (
    tempfile::TempDir,
    Result<payment::PaymentSummary, PaymentError>,
) {
    let d = dir();
    let mut out = OutputDir::create(d.path()).unwrap();
    let reg = register();
    let s = payment::write_payment_files(&mut out, result, Some(&reg), rates, o);
    out.commit().unwrap();
    (d, s)
}

#[test]
fn t3_t5_pain001_sums_accounts_and_ids_match_register_and_csv() {
    let (d, s) = run(&q3(), &q3_rates(RateStatus::Vedtatt), &opts());
    let s = s.unwrap();
    assert!(s.written && s.refused.is_none());
    // Paying and in the register with account and org.nr: Oslo 298 600.00, Bø 8 333.33, Våler 279 500.00,
    // Nes & Omegn 27 800.00 → 298600 + 8333.33 + 279500 + 27800 = 614 233.33, 4 transfers.
    // Bergen (no account) and Stavanger (not in register) left out; Trondheim (−10 000) not paying (T-3).
    let expected_sum = dec("614233.33");
    assert_eq!(s.ctrl_sum, expected_sum);
    assert_eq!(s.nb_of_txs, 4);

    let xml = std::fs::read_to_string(d.path().join("utbetaling.xml")).unwrap();
    let doc = parse_xml(&xml);
    assert_eq!(doc.name, "Document");
    assert_eq!(
        doc.attrs,
        vec![(
            "xmlns".to_string(),
            "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03".to_string()
        )]
    );
    let root = doc.child("CstmrCdtTrfInitn");
    let gh = root.child("GrpHdr");
    assert_eq!(gh.child("NbOfTxs").text, "4");
    assert_eq!(gh.child("CtrlSum").text, "614233.33");
    assert_eq!(gh.child("CreDtTm").text, "2024-09-30T00:00:00");
    assert_eq!(gh.path("InitgPty/Id/OrgId/Othr/Id").text, "987879696");
    let pmt = root.all("PmtInf");
    assert_eq!(pmt.len(), 1);
    let pmt = pmt[0];
    assert_eq!(pmt.child("PmtMtd").text, "TRF");
    assert_eq!(pmt.child("NbOfTxs").text, "4");
    assert_eq!(pmt.child("CtrlSum").text, "614233.33");
    assert_eq!(pmt.child("ReqdExctnDt").text, "2024-09-30");
    assert_eq!(pmt.path("Dbtr/Id/OrgId/Othr/Id").text, "987879696");
    assert_eq!(pmt.path("DbtrAcct/Id/Othr/Id").text, debtor().as_str());
    assert_eq!(pmt.path("DbtrAcct/Id/Othr/SchmeNm/Cd").text, "BBAN");

    let txs = pmt.all("CdtTrfTxInf");
    assert_eq!(txs.len(), 4);
    let reg = register();
    let mut xml_sum = Decimal::ZERO;
    let mut by_e2e = BTreeMap::new();
    for t in &txs {
        let amt = t.path("Amt/InstdAmt");
        assert_eq!(amt.attrs, vec![("Ccy".to_string(), "NOK".to_string())]);
        let (_, dec_part) = amt.text.split_once('.').expect("two decimals");
        assert_eq!(dec_part.len(), 2, "{}", amt.text);
        let a = dec(&amt.text);
        xml_sum += a;
        let acct =
            Kontonr::parse(&t.path("CdtrAcct/Id/Othr/Id").text).expect("valid account (ID-5)");
        assert_eq!(t.path("CdtrAcct/Id/Othr/SchmeNm/Cd").text, "BBAN");
        let org = Orgnr::parse(&t.path("Cdtr/Id/OrgId/Othr/Id").text).expect("valid org.nr (ID-4)");
        let e2e = t.path("PmtId/EndToEndId").text.clone();
        assert_eq!(t.path("PmtId/InstrId").text, e2e);
        let k = knr(e2e.rsplit('-').next().unwrap());
        let row = reg.get(k, date(2024, 9, 30)).unwrap();
        assert_eq!(
            Some(acct),
            row.kontonummer,
            "{k}: account from the register"
        );
        assert_eq!(Some(org), row.orgnr, "{k}: org.nr from the register");
        assert_eq!(t.path("Cdtr/Nm").text, row.navn);
        let ustrd = &t.path("RmtInf/Ustrd").text;
        assert!(
            ustrd.contains("2024-Q3") && ustrd.contains("tilskudd"),
            "{ustrd}"
        );
        by_e2e.insert(e2e, a);
    }
    assert_eq!(xml_sum, expected_sum, "CtrlSum = Σ transactions");
    assert_eq!(by_e2e["IMDI-2024-Q3-0301"], dec("298600.00"));
    assert_eq!(by_e2e["IMDI-2024-Q3-1867"], dec("8333.33"));
    assert_eq!(by_e2e["IMDI-2024-Q3-3419"], dec("279500.00"));
    assert_eq!(by_e2e["IMDI-2024-Q3-3999"], dec("27800.00"));
    // EM only for Våler: the remittance names the special grant.
    let valer = txs
        .iter()
        .find(|t| t.path("PmtId/EndToEndId").text.ends_with("3419"))
        .unwrap();
    assert!(valer
        .path("RmtInf/Ustrd")
        .text
        .contains("særskilt tilskudd EM"));

    // utbetaling.csv: same transfers, same sum.
    let mut rdr = csv::Reader::from_path(d.path().join("utbetaling.csv")).unwrap();
    let h = rdr.headers().unwrap().clone();
    let col = |n: &str| h.iter().position(|x| x == n).unwrap();
    let mut csv_sum = Decimal::ZERO;
    let mut rows = 0;
    for r in rdr.records() {
        let r = r.unwrap();
        rows += 1;
        csv_sum += dec(&r[col("belop")]);
        assert_eq!(by_e2e[&r[col("end_to_end_id")]], dec(&r[col("belop")]));
        assert!(Kontonr::parse(&r[col("kontonummer")]).is_ok());
    }
    assert_eq!(
        (rows, csv_sum),
        (4, expected_sum),
        "Σ utbetaling.csv = CtrlSum"
    );
}

#[test]
fn pain001_element_order_follows_the_schema() {
    let (d, s) = run(&q3(), &q3_rates(RateStatus::Vedtatt), &opts());
    s.unwrap();
    let doc = parse_xml(&std::fs::read_to_string(d.path().join("utbetaling.xml")).unwrap());
    let root = doc.child("CstmrCdtTrfInitn");
    // Sequences from pain.001.001.03.xsd (CustomerCreditTransferInitiationV03, GroupHeader32,
    // PaymentInstructionInformation3, CreditTransferTransactionInformation10, PartyIdentification32,
    // CashAccount16, PaymentTypeInformation19, PaymentIdentification1).
    assert_schema_order(&root.names(), &["GrpHdr", "PmtInf"], "CstmrCdtTrfInitn");
    assert_schema_order(
        &root.child("GrpHdr").names(),
        &[
            "MsgId", "CreDtTm", "Authstn", "NbOfTxs", "CtrlSum", "InitgPty", "FwdgAgt",
        ],
        "GrpHdr",
    );
    let pmt = root.child("PmtInf");
    assert_schema_order(
        &pmt.names(),
        &[
            "PmtInfId",
            "PmtMtd",
            "BtchBookg",
            "NbOfTxs",
            "CtrlSum",
            "PmtTpInf",
            "ReqdExctnDt",
            "PoolgAdjstmntDt",
            "Dbtr",
            "DbtrAcct",
            "DbtrAgt",
            "DbtrAgtAcct",
            "UltmtDbtr",
            "ChrgBr",
            "ChrgsAcct",
            "ChrgsAcctAgt",
            "CdtTrfTxInf",
        ],
        "PmtInf",
    );
    assert_schema_order(
        &pmt.child("PmtTpInf").names(),
        &["InstrPrty", "SvcLvl", "LclInstrm", "CtgyPurp"],
        "PmtTpInf",
    );
    let party = ["Nm", "PstlAdr", "Id", "CtryOfRes", "CtctDtls"];
    assert_schema_order(&pmt.child("Dbtr").names(), &party, "Dbtr");
    assert_schema_order(&root.path("GrpHdr/InitgPty").names(), &party, "InitgPty");
    assert_schema_order(
        &pmt.child("DbtrAcct").names(),
        &["Id", "Tp", "Ccy", "Nm"],
        "DbtrAcct",
    );
    for t in pmt.all("CdtTrfTxInf") {
        assert_schema_order(
            &t.names(),
            &[
                "PmtId",
                "PmtTpInf",
                "Amt",
                "XchgRateInf",
                "ChrgBr",
                "ChqInstr",
                "UltmtDbtr",
                "IntrmyAgt1",
                "IntrmyAgt1Acct",
                "IntrmyAgt2",
                "IntrmyAgt2Acct",
                "IntrmyAgt3",
                "IntrmyAgt3Acct",
                "CdtrAgt",
                "CdtrAgtAcct",
                "Cdtr",
                "CdtrAcct",
                "UltmtCdtr",
                "InstrForCdtrAgt",
                "InstrForDbtrAgt",
                "Purp",
                "RgltryRptg",
                "Tax",
                "RltdRmtInf",
                "RmtInf",
            ],
            "CdtTrfTxInf",
        );
        assert_eq!(t.child("PmtId").names(), ["InstrId", "EndToEndId"]);
        assert_schema_order(&t.child("Cdtr").names(), &party, "Cdtr");
        assert_eq!(t.path("CdtrAcct/Id/Othr").names(), ["Id", "SchmeNm"]);
    }
    // Mandatory elements present.
    for p in [
        "GrpHdr/MsgId",
        "GrpHdr/CreDtTm",
        "GrpHdr/NbOfTxs",
        "GrpHdr/InitgPty",
        "PmtInf/PmtInfId",
        "PmtInf/DbtrAgt/FinInstnId",
    ] {
        root.path(p);
    }
}

#[test]
fn pain001_escapes_norwegian_names_and_ampersand() {
    let (d, s) = run(&q3(), &q3_rates(RateStatus::Vedtatt), &opts());
    s.unwrap();
    let xml = std::fs::read_to_string(d.path().join("utbetaling.xml")).unwrap();
    // UTF-8 letters written as they are; `&` and `<` escaped by the library.
    assert!(xml.contains("<Nm>Bø kommune</Nm>"), "{xml}");
    assert!(xml.contains("<Nm>Våler kommune</Nm>"));
    assert!(xml.contains("<Nm>Nes &amp; Omegn &lt;test&gt;</Nm>"));
    assert!(!xml.contains("Nes & Omegn"));
    let doc = parse_xml(&xml);
    let names: Vec<String> = doc
        .path("CstmrCdtTrfInitn/PmtInf")
        .all("CdtTrfTxInf")
        .iter()
        .map(|t| t.path("Cdtr/Nm").text.clone())
        .collect();
    assert_eq!(
        names,
        [
            "Oslo kommune",
            "Bø kommune",
            "Våler kommune",
            "Nes & Omegn <test>"
        ]
    );
}

#[test]
fn t4_payment_files_are_byte_identical_across_runs() {
    let (a, s1) = run(&q3(), &q3_rates(RateStatus::Vedtatt), &opts());
    let (b, s2) = run(&q3(), &q3_rates(RateStatus::Vedtatt), &opts());
    assert_eq!(s1.unwrap().msg_id, s2.unwrap().msg_id);
    for f in ["utbetaling.xml", "utbetaling.csv"] {
        assert_eq!(
            std::fs::read(a.path().join(f)).unwrap(),
            std::fs::read(b.path().join(f)).unwrap(),
            "{f}"
        );
    }
    // A changed amount gives a new MsgId (banks refuse a repeated one) but the same end-to-end ids.
    let mut changed = q3();
    changed.lines[0].opptjent += dec("1.00");
    changed.lines[0].a_utbetale += dec("1.00");
    changed.kommuner[0].sum += dec("1.00");
    changed.recount();
    let (c, s3) = run(&changed, &q3_rates(RateStatus::Vedtatt), &opts());
    let s3 = s3.unwrap();
    let first = std::fs::read_to_string(a.path().join("utbetaling.xml")).unwrap();
    let third = std::fs::read_to_string(c.path().join("utbetaling.xml")).unwrap();
    let msg = |x: &str| {
        parse_xml(x)
            .path("CstmrCdtTrfInitn/GrpHdr/MsgId")
            .text
            .clone()
    };
    assert_ne!(msg(&first), msg(&third));
    assert_eq!(s3.transfers[0].end_to_end_id, "IMDI-2024-Q3-0301");
    // 614 233.33 + 1.00
    assert_eq!(s3.ctrl_sum, dec("614234.33"));
}

#[test]
fn t5_forslag_rate_refuses_payment_file_unless_overridden() {
    let (d, s) = run(&q3(), &q3_rates(RateStatus::Forslag), &opts());
    let s = s.unwrap();
    assert!(!s.written);
    let why = s.refused.as_deref().unwrap();
    assert!(
        why.contains("T-5") && why.contains("2024 EMINB (forslag)"),
        "{why}"
    );
    assert!(s.warnings.iter().any(|w| w.contains("EMINB")));
    assert_eq!(s.unadopted_rates.len(), 1);
    assert!(!d.path().join("utbetaling.xml").exists());
    assert!(!d.path().join("utbetaling.csv").exists());

    let mut o = opts();
    o.allow_unadopted_rates = true;
    let (d, s) = run(&q3(), &q3_rates(RateStatus::Forslag), &o);
    let s = s.unwrap();
    assert!(s.written);
    assert!(d.path().join("utbetaling.xml").exists());
    assert!(s
        .warnings
        .iter()
        .any(|w| w.contains("NOT adopted") && w.contains("EMINB")));
    assert_eq!(s.ctrl_sum, dec("614233.33"));
}

#[test]
fn t5_rate_missing_from_table_counts_as_unadopted() {
    let mut r = q3();
    r.rates_used
        .push((2023, tilskudd::domain::rates::RateCode::Ar5));
    let (_d, s) = run(&r, &q3_rates(RateStatus::Vedtatt), &opts());
    let s = s.unwrap();
    assert!(!s.written);
    assert!(s
        .refused
        .unwrap()
        .contains("2023 AR-5 (not in the rate tables)"));
}

#[test]
fn municipality_without_account_or_register_row_is_left_out_with_avvik() {
    let (_d, s) = run(&q3(), &q3_rates(RateStatus::Vedtatt), &opts());
    let s = s.unwrap();
    let left: Vec<(String, Decimal, &str)> = s
        .left_out
        .iter()
        .map(|l| (l.kommune.to_string(), l.belop, l.kode.as_str()))
        .collect();
    // Stavanger 1103 comes before Bergen 4601 in municipality order.
    assert_eq!(
        left,
        vec![
            (
                "1103".to_string(),
                dec("180600.00"),
                "ukjent_kommune_i_register"
            ),
            ("4601".to_string(), dec("21000.00"), "ugyldig_kontonummer"),
        ]
    );
    let codes: Vec<&str> = s.avvik.iter().map(|a| a.kode.as_str()).collect();
    assert_eq!(codes, ["ukjent_kommune_i_register", "ugyldig_kontonummer"]);
    assert_eq!(s.avvik[1].linje, Some(6), "Bergen's register line");
    assert!(s.avvik[1].melding.contains("4601") && s.avvik[1].melding.contains("21000.00"));
    // Loud: one warning naming both and their total 180 600 + 21 000 = 201 600.00.
    let w = s.warnings.iter().find(|w| w.contains("LEFT OUT")).unwrap();
    assert!(
        w.contains("1103") && w.contains("4601") && w.contains("201600.00"),
        "{w}"
    );
    assert!(!s
        .transfers
        .iter()
        .any(|t| ["1103", "4601", "5001"].contains(&t.kommune.to_string().as_str())));
}

#[test]
fn missing_orgnr_is_left_out_with_avvik() {
    let mut reg = register();
    reg.insert(kommune(
        "1103",
        "Stavanger kommune",
        None,
        Some(konto(3201000006)),
        8,
    ));
    let d = dir();
    let mut out = OutputDir::create(d.path()).unwrap();
    let s = payment::write_payment_files(
        &mut out,
        &q3(),
        Some(&reg),
        &q3_rates(RateStatus::Vedtatt),
        &opts(),
    )
    .unwrap();
    assert!(s
        .avvik
        .iter()
        .any(|a| a.kode == "mangler_orgnr" && a.linje == Some(8)));
}

#[test]
fn missing_debtor_account_is_an_error_not_a_panic() {
    let mut o = opts();
    o.debtor_account = None;
    let (d, s) = run(&q3(), &q3_rates(RateStatus::Vedtatt), &o);
    let e = s.unwrap_err();
    assert!(matches!(e, PaymentError::MissingDebtorAccount { n: 4 }));
    assert!(e.to_string().contains("--debtor-account"));
    assert!(!d.path().join("utbetaling.xml").exists());
    // When refused (T-5) no account is needed.
    let (_d, s) = run(&q3(), &q3_rates(RateStatus::Forslag), &o);
    assert!(s.unwrap().refused.is_some());
}

#[test]
fn created_option_and_config_file_are_used() {
    let d = dir();
    let conf = d.path().join("betaling.conf");
    std::fs::write(
        &conf,
        format!(
            "# IMDi\ndebtor_account = {}\ndebtor_bic = DNBANOKK\nexecution_date = 2024-10-07\n",
            debtor()
        ),
    )
    .unwrap();
    let cfg = payment::load_payment_config(&conf).unwrap();
    let mut o = PaymentOptions::new(date(2024, 9, 30)).with_config(&cfg);
    o.created = payment::parse_created("2024-10-01T08:30:00").unwrap();
    let (out, s) = run(&q3(), &q3_rates(RateStatus::Vedtatt), &o);
    s.unwrap();
    let doc = parse_xml(&std::fs::read_to_string(out.path().join("utbetaling.xml")).unwrap());
    let root = doc.child("CstmrCdtTrfInitn");
    assert_eq!(root.path("GrpHdr/CreDtTm").text, "2024-10-01T08:30:00");
    assert_eq!(root.path("PmtInf/ReqdExctnDt").text, "2024-10-07");
    assert_eq!(root.path("PmtInf/DbtrAgt/FinInstnId/BIC").text, "DNBANOKK");
    assert_eq!(
        root.path("PmtInf/DbtrAcct/Id/Othr/Id").text,
        debtor().as_str()
    );
}

#[test]
fn no_register_means_no_payment_file_but_no_error() {
    let d = dir();
    let mut out = OutputDir::create(d.path()).unwrap();
    let s = payment::write_payment_files(
        &mut out,
        &q3(),
        None,
        &q3_rates(RateStatus::Vedtatt),
        &opts(),
    )
    .unwrap();
    assert!(!s.written);
    // All six paying municipalities (all but Trondheim) are listed.
    assert_eq!(s.left_out.len(), 6);
    assert!(s.avvik.iter().all(|a| a.kode == "mangler_kommuneregister"));
}

#[test]
fn t5_refusal_warns_about_an_older_payment_file_left_in_the_folder() {
    let d = dir();
    let reg = register();
    let mut out = OutputDir::create(d.path()).unwrap();
    payment::write_payment_files(
        &mut out,
        &q3(),
        Some(&reg),
        &q3_rates(RateStatus::Vedtatt),
        &opts(),
    )
    .unwrap();
    out.commit().unwrap();
    let mut out = OutputDir::create(d.path()).unwrap();
    let s = payment::write_payment_files(
        &mut out,
        &q3(),
        Some(&reg),
        &q3_rates(RateStatus::Forslag),
        &opts(),
    )
    .unwrap();
    out.commit().unwrap();
    assert!(!s.written);
    assert_eq!(
        s.stale_files,
        vec![
            d.path().join("utbetaling.csv"),
            d.path().join("utbetaling.xml")
        ]
    );
    assert!(s
        .warnings
        .iter()
        .any(|w| w.contains("older one") && w.contains("utbetaling.xml")));
    // A first refused run into an empty folder has nothing stale.
    let (_e, s) = run(&q3(), &q3_rates(RateStatus::Forslag), &opts());
    assert!(s.unwrap().stale_files.is_empty());
}
