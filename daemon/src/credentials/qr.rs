//! The TOTP enrolment QR code, drawn by the gateway as SVG (no image library, no outside service).

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// The SVG of a QR code holding `text`, or `None` when it does not fit a QR code.
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    Some(code.render::<svg::Color<'_>>().min_dimensions(200, 200).quiet_zone(true).build())
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_otpauth_uri_draws() {
        let svg = super::svg("otpauth://totp/Hotel:ana?secret=MZXW6YTBOI&issuer=Hotel").unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg") && svg.contains("<path"));
    }
}
