//! ISO 20022 credit transfer initiation `pain.001.001.03` (SPEC §6 `utbetaling.xml`), as Norwegian banks
//! accept it (the BSK/CGI implementation guides): one group header, one payment information block from IMDi,
//! one credit transfer per municipality to its domestic account (BBAN).
//!
//! Written with quick-xml's `Writer` (elements and escaping by the library, never string concatenation), in
//! the element order of the schema (`CustomerCreditTransferInitiationV03`). Pure: the caller decides ids and
//! timestamps, so the same input gives the same bytes (T-4).

use crate::domain::ids::{Kontonr, Orgnr};
use crate::domain::money::fmt_money;
use chrono::{NaiveDate, NaiveDateTime};
use quick_xml::events::{BytesDecl, BytesText, Event};
use quick_xml::Writer;
use rust_decimal::Decimal;
use std::io::{self, Write};

/// The XML namespace of the message.
pub const NAMESPACE: &str = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03";

/// Max length of `Max35Text` ids and of `Max70Text` names in pain.001.001.03.
pub const MAX_ID: usize = 35;
pub const MAX_NAME: usize = 70;
/// Max length of `Ustrd` (Max140Text).
pub const MAX_USTRD: usize = 140;

/// One credit transfer (`CdtTrfTxInf`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreditTransfer {
    pub instr_id: String,
    pub end_to_end_id: String,
    /// NOK, written with two decimals.
    pub amount: Decimal,
    pub creditor_name: String,
    pub creditor_orgnr: Orgnr,
    pub creditor_account: Kontonr,
    pub remittance: String,
}

/// A whole message: group header, one payment information block, its transfers.
#[derive(Clone, Debug)]
pub struct Pain001 {
    pub msg_id: String,
    pub created: NaiveDateTime,
    pub pmt_inf_id: String,
    pub execution_date: NaiveDate,
    pub debtor_name: String,
    pub debtor_orgnr: Orgnr,
    pub debtor_account: Kontonr,
    /// BIC of IMDi's bank (`DbtrAgt`); when absent the agent is identified by country `NO` only.
    pub debtor_bic: Option<String>,
    pub transactions: Vec<CreditTransfer>,
}

impl Pain001 {
    /// `CtrlSum`: the sum of the transaction amounts (each rounded to øre, as written).
    pub fn ctrl_sum(&self) -> Decimal {
        self.transactions
            .iter()
            .map(|t| crate::domain::money::round_ore(t.amount))
            .sum()
    }
}

/// Cuts `s` to at most `max` characters (not bytes), so a Norwegian letter is never split.
pub fn truncate_chars(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Writes the message as indented UTF-8 XML.
pub fn write_pain001<W: Write>(w: W, doc: &Pain001) -> io::Result<()> {
    let mut x = Writer::new_with_indent(w, b' ', 2);
    x.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    let nb = doc.transactions.len().to_string();
    let ctrl = fmt_money(doc.ctrl_sum());
    x.create_element("Document")
        .with_attribute(("xmlns", NAMESPACE))
        .write_inner_content(|x| {
            x.create_element("CstmrCdtTrfInitn")
                .write_inner_content(|x| {
                    // GroupHeader32: MsgId, CreDtTm, NbOfTxs, CtrlSum, InitgPty.
                    x.create_element("GrpHdr").write_inner_content(|x| {
                        text(x, "MsgId", &truncate_chars(&doc.msg_id, MAX_ID))?;
                        text(
                            x,
                            "CreDtTm",
                            &doc.created.format("%Y-%m-%dT%H:%M:%S").to_string(),
                        )?;
                        text(x, "NbOfTxs", &nb)?;
                        text(x, "CtrlSum", &ctrl)?;
                        party(x, "InitgPty", &doc.debtor_name, &doc.debtor_orgnr)
                    })?;
                    // PaymentInstructionInformation3: PmtInfId, PmtMtd, NbOfTxs, CtrlSum, PmtTpInf,
                    // ReqdExctnDt, Dbtr, DbtrAcct, DbtrAgt, CdtTrfTxInf+.
                    x.create_element("PmtInf").write_inner_content(|x| {
                        text(x, "PmtInfId", &truncate_chars(&doc.pmt_inf_id, MAX_ID))?;
                        text(x, "PmtMtd", "TRF")?;
                        text(x, "NbOfTxs", &nb)?;
                        text(x, "CtrlSum", &ctrl)?;
                        x.create_element("PmtTpInf").write_inner_content(|x| {
                            text(x, "InstrPrty", "NORM")?;
                            x.create_element("SvcLvl")
                                .write_inner_content(|x| text(x, "Cd", "NURG"))?;
                            Ok(())
                        })?;
                        text(
                            x,
                            "ReqdExctnDt",
                            &doc.execution_date.format("%Y-%m-%d").to_string(),
                        )?;
                        party(x, "Dbtr", &doc.debtor_name, &doc.debtor_orgnr)?;
                        account(x, "DbtrAcct", &doc.debtor_account, true)?;
                        x.create_element("DbtrAgt").write_inner_content(|x| {
                            x.create_element("FinInstnId").write_inner_content(|x| {
                                match &doc.debtor_bic {
                                    Some(bic) => text(x, "BIC", bic),
                                    None => country(x),
                                }
                            })?;
                            Ok(())
                        })?;
                        for t in &doc.transactions {
                            transaction(x, t)?;
                        }
                        Ok(())
                    })?;
                    Ok(())
                })?;
            Ok(())
        })?;
    x.get_mut().write_all(b"\n")?;
    Ok(())
}

/// CreditTransferTransactionInformation10: PmtId, Amt, Cdtr, CdtrAcct, RmtInf (schema order; the optional
/// elements between them are not used).
fn transaction<W: Write>(x: &mut Writer<W>, t: &CreditTransfer) -> io::Result<()> {
    x.create_element("CdtTrfTxInf").write_inner_content(|x| {
        x.create_element("PmtId").write_inner_content(|x| {
            text(x, "InstrId", &truncate_chars(&t.instr_id, MAX_ID))?;
            text(x, "EndToEndId", &truncate_chars(&t.end_to_end_id, MAX_ID))
        })?;
        x.create_element("Amt").write_inner_content(|x| {
            x.create_element("InstdAmt")
                .with_attribute(("Ccy", "NOK"))
                .write_text_content(BytesText::new(&fmt_money(t.amount)))?;
            Ok(())
        })?;
        party(x, "Cdtr", &t.creditor_name, &t.creditor_orgnr)?;
        account(x, "CdtrAcct", &t.creditor_account, false)?;
        x.create_element("RmtInf")
            .write_inner_content(|x| text(x, "Ustrd", &truncate_chars(&t.remittance, MAX_USTRD)))?;
        Ok(())
    })?;
    Ok(())
}

fn text<W: Write>(x: &mut Writer<W>, name: &str, value: &str) -> io::Result<()> {
    // BytesText::new escapes `&`, `<`, `>` (and quotes); non-ASCII letters are written as UTF-8.
    x.create_element(name)
        .write_text_content(BytesText::new(value))?;
    Ok(())
}

fn country<W: Write>(x: &mut Writer<W>) -> io::Result<()> {
    x.create_element("PstlAdr")
        .write_inner_content(|x| text(x, "Ctry", "NO"))?;
    Ok(())
}

/// PartyIdentification32: Nm, PstlAdr, Id/OrgId/Othr (Id, SchmeNm/Cd). The organisation number is given with
/// scheme code `CUST` as in the Norwegian BSK guide.
fn party<W: Write>(x: &mut Writer<W>, tag: &str, name: &str, orgnr: &Orgnr) -> io::Result<()> {
    x.create_element(tag).write_inner_content(|x| {
        text(x, "Nm", &truncate_chars(name, MAX_NAME))?;
        country(x)?;
        x.create_element("Id").write_inner_content(|x| {
            x.create_element("OrgId").write_inner_content(|x| {
                x.create_element("Othr").write_inner_content(|x| {
                    text(x, "Id", orgnr.as_str())?;
                    x.create_element("SchmeNm")
                        .write_inner_content(|x| text(x, "Cd", "CUST"))?;
                    Ok(())
                })?;
                Ok(())
            })?;
            Ok(())
        })?;
        Ok(())
    })?;
    Ok(())
}

/// CashAccount16: Id/Othr (Id, SchmeNm/Cd `BBAN`) for a domestic Norwegian account, then `Ccy` for the
/// debtor's account.
fn account<W: Write>(x: &mut Writer<W>, tag: &str, nr: &Kontonr, with_ccy: bool) -> io::Result<()> {
    x.create_element(tag).write_inner_content(|x| {
        x.create_element("Id").write_inner_content(|x| {
            x.create_element("Othr").write_inner_content(|x| {
                text(x, "Id", nr.as_str())?;
                x.create_element("SchmeNm")
                    .write_inner_content(|x| text(x, "Cd", "BBAN"))?;
                Ok(())
            })?;
            Ok(())
        })?;
        if with_ccy {
            text(x, "Ccy", "NOK")?;
        }
        Ok(())
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_on_characters() {
        assert_eq!(truncate_chars("Bø i Vesterålen", 2), "Bø");
        assert_eq!(truncate_chars("Våler", 70), "Våler");
    }
}
