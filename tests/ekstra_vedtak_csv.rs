//! `vedtak.csv` writer (SPEC §5 output of `tilskudd ekstra`): columns, order by soknad_id, ISO dates,
//! money with two decimals, `|`-joined reason codes, `klagbar` = ja only for `avvist`.

#![allow(clippy::cloned_ref_to_slice_refs)] // `&[p.clone()]` reads better in tests

mod ekstra_felles;
use ekstra_felles::*;

use tilskudd::domain::rules::fht::{vurder_alle, FhtGrunnlag};
use tilskudd::domain::soknad::FhtType;
use tilskudd::output::vedtak::write_vedtak;

#[test]
fn vedtak_csv_columns_and_order() {
    let p = person("15.06.1990", "09.04.2018");
    let pp = [p.clone()];
    let rates = satser();
    let g = FhtGrunnlag::new(&pp, &[], &rates);
    // "B": T2 år 1 in time (S + 13 = 09.05.2019), 250 000.50 → klar_for_vurdering, proposes 250 000.50.
    // "A": T1 år 3 late (first application? no grant → år 3 due S + 37 = 09.05.2021; received
    //      10.05.2021) and below 100 000 → avvist, 0.
    let soknader = vec![
        soknad("B", &p, FhtType::T2, 1, "01.05.2019", "250000.50"),
        soknad("A", &p, FhtType::T1, 3, "10.05.2021", "99999"),
    ];
    let rows = vurder_alle(&soknader, &g).unwrap();
    let mut buf = Vec::new();
    write_vedtak(&mut buf, &rows).unwrap();
    let text = String::from_utf8(buf).unwrap();
    let f = p.fnr.as_str();
    let expected = format!(
        "soknad_id,fnr,kommunenummer,type,tilskuddsar,periode_fra,periode_til,frist,status,arsaker,klagbar,foreslatt_belop,maks_belop,tilbakebetaling,refusjon\n\
         A,{f},0301,T1,3,2020-04-09,2021-04-08,2021-05-09,avvist,for_sent|under_innslagssum|t1_feil_ar,ja,0.00,180000.00,0.00,0.00\n\
         B,{f},0301,T2,1,2018-04-09,2019-04-08,2019-05-09,klar_for_vurdering,,nei,250000.50,1500000.00,0.00,0.00\n"
    );
    assert_eq!(text, expected);
}
