//! Framing: STX (0x02), the record, ETX (0x03), and an LRC byte after ETX where the site uses one.
//!
//! [`Decoder`] takes bytes as they arrive and hands out whole frames. Bytes outside a frame are skipped and
//! reported once per run; a frame longer than the bound, or one with a control byte inside, is dropped whole and
//! reading resumes at the next STX. Nothing a peer sends can make it grow without bound or panic.

use crate::{ETX, STX};

/// The longest record Bellhop reads, in bytes between STX and ETX. FIAS links describe records of up to 2,000
/// bytes (`RL`); this leaves room for vendors that exceed their own description.
pub const MAX_FRAME: usize = 4096;

/// What was wrong with bytes the decoder skipped. The link stays up: the next frame is read normally.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Bytes outside any frame.
    #[error("{0} bytes outside a frame were skipped")]
    Garbage(usize),
    /// A frame longer than [`MAX_FRAME`] without its ETX.
    #[error("a frame longer than {MAX_FRAME} bytes was dropped")]
    TooLong,
    /// A control byte (or a new STX) inside a frame.
    #[error("a frame with the control byte 0x{0:02x} inside was dropped")]
    ControlByte(u8),
    /// The LRC byte after ETX did not match the frame.
    #[error("a frame whose LRC was 0x{found:02x}, not 0x{expected:02x}, was dropped")]
    BadLrc {
        /// What the frame's bytes give.
        expected: u8,
        /// What came after ETX.
        found: u8,
    },
}

/// Where the decoder is in the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Outside a frame, skipping this many bytes so far.
    Outside(usize),
    /// Inside a frame.
    Inside,
    /// Inside a frame that is being dropped (too long); resumes at the next STX or after ETX.
    Dropping,
    /// After ETX, waiting for the LRC byte.
    Lrc,
}

/// Cuts a byte stream into frames. Feed it with [`Decoder::push`], then take frames with [`Decoder::next_frame`]
/// until it answers `None`.
#[derive(Debug, Clone)]
pub struct Decoder {
    lrc: bool,
    state: State,
    frame: Vec<u8>,
    pending: std::collections::VecDeque<u8>,
}

impl Decoder {
    /// A decoder; with `lrc`, each ETX is followed by a longitudinal redundancy check byte (the XOR of every byte
    /// after STX up to and including ETX).
    pub fn new(lrc: bool) -> Decoder {
        Decoder { lrc, state: State::Outside(0), frame: Vec::new(), pending: Default::default() }
    }

    /// Adds bytes read from the link.
    pub fn push(&mut self, bytes: &[u8]) {
        self.pending.extend(bytes);
    }

    /// The next whole frame (the bytes between STX and ETX), what was skipped, or `None` until more bytes come.
    pub fn next_frame(&mut self) -> Option<Result<Vec<u8>, FrameError>> {
        while let Some(byte) = self.pending.pop_front() {
            match self.state {
                State::Outside(skipped) => {
                    if byte == STX {
                        self.state = State::Inside;
                        self.frame.clear();
                        if skipped > 0 {
                            return Some(Err(FrameError::Garbage(skipped)));
                        }
                    } else {
                        self.state = State::Outside(skipped + 1);
                    }
                }
                State::Inside => match byte {
                    ETX if self.lrc => self.state = State::Lrc,
                    ETX => {
                        self.state = State::Outside(0);
                        return Some(Ok(std::mem::take(&mut self.frame)));
                    }
                    STX => {
                        // A new frame began before this one ended: drop the partial one, read the new one.
                        self.frame.clear();
                        return Some(Err(FrameError::ControlByte(STX)));
                    }
                    b if b < 0x20 || b == 0x7f => {
                        self.state = State::Dropping;
                        self.frame.clear();
                        return Some(Err(FrameError::ControlByte(b)));
                    }
                    b if self.frame.len() >= MAX_FRAME => {
                        let _ = b;
                        self.state = State::Dropping;
                        self.frame.clear();
                        return Some(Err(FrameError::TooLong));
                    }
                    b => self.frame.push(b),
                },
                State::Dropping => match byte {
                    STX => {
                        self.state = State::Inside;
                        self.frame.clear();
                    }
                    ETX => self.state = State::Outside(0),
                    _ => {}
                },
                State::Lrc => {
                    self.state = State::Outside(0);
                    let frame = std::mem::take(&mut self.frame);
                    let expected = lrc(&frame);
                    if byte != expected {
                        return Some(Err(FrameError::BadLrc { expected, found: byte }));
                    }
                    return Some(Ok(frame));
                }
            }
        }
        None
    }
}

/// The LRC of a frame's content: the XOR of its bytes and ETX.
pub fn lrc(content: &[u8]) -> u8 {
    content.iter().fold(ETX, |acc, b| acc ^ b)
}

/// Wraps a record's bytes in STX … ETX (and the LRC byte, with `lrc`).
pub fn encode_frame(record: &[u8], lrc_byte: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(record.len() + 3);
    out.push(STX);
    out.extend_from_slice(record);
    out.push(ETX);
    if lrc_byte {
        out.push(lrc(record));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all(decoder: &mut Decoder) -> Vec<Result<Vec<u8>, FrameError>> {
        std::iter::from_fn(|| decoder.next_frame()).collect()
    }

    #[test]
    fn frames_split_anywhere_and_garbage_between_is_skipped() {
        let mut stream = b"noise".to_vec();
        stream.extend(encode_frame(b"LA|", false));
        stream.extend(b"\r\n");
        stream.extend(encode_frame(b"GI|RN101|", false));
        let mut decoder = Decoder::new(false);
        let mut got = Vec::new();
        for chunk in stream.chunks(3) {
            decoder.push(chunk);
            got.extend(all(&mut decoder));
        }
        assert_eq!(
            got,
            vec![
                Err(FrameError::Garbage(5)),
                Ok(b"LA|".to_vec()),
                Err(FrameError::Garbage(2)),
                Ok(b"GI|RN101|".to_vec())
            ]
        );
    }

    #[test]
    fn an_overlong_frame_is_dropped_and_the_next_one_read() {
        let mut stream = vec![STX];
        stream.extend(std::iter::repeat_n(b'A', MAX_FRAME + 10));
        stream.push(ETX);
        stream.extend(encode_frame(b"LS|", false));
        let mut decoder = Decoder::new(false);
        decoder.push(&stream);
        assert_eq!(all(&mut decoder), vec![Err(FrameError::TooLong), Ok(b"LS|".to_vec())]);
    }

    #[test]
    fn control_bytes_and_a_second_stx_drop_the_partial_frame() {
        let mut decoder = Decoder::new(false);
        decoder.push(b"\x02GI|RN1\x02LA|\x03\x02RE|\n|\x03\x02LE|\x03");
        assert_eq!(
            all(&mut decoder),
            vec![
                Err(FrameError::ControlByte(STX)),
                Ok(b"LA|".to_vec()),
                Err(FrameError::ControlByte(b'\n')),
                Ok(b"LE|".to_vec())
            ]
        );
    }

    #[test]
    fn lrc_is_checked_when_the_site_uses_it() {
        let mut decoder = Decoder::new(true);
        let good = encode_frame(b"LA|", true);
        let mut bad = good.clone();
        *bad.last_mut().unwrap() ^= 0xff;
        decoder.push(&good);
        decoder.push(&bad);
        let got = all(&mut decoder);
        assert_eq!(got[0], Ok(b"LA|".to_vec()));
        assert!(matches!(got[1], Err(FrameError::BadLrc { .. })));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_and_frames_stay_bounded(
            bytes in proptest::collection::vec(any::<u8>(), 0..6000), lrc in any::<bool>()
        ) {
            let mut decoder = Decoder::new(lrc);
            decoder.push(&bytes);
            while let Some(item) = decoder.next_frame() {
                if let Ok(frame) = item {
                    prop_assert!(frame.len() <= MAX_FRAME);
                }
            }
        }

        #[test]
        fn printable_records_survive_framing(record in "[ -~]{0,300}", lrc in any::<bool>()) {
            let mut decoder = Decoder::new(lrc);
            decoder.push(&encode_frame(record.as_bytes(), lrc));
            prop_assert_eq!(decoder.next_frame(), Some(Ok(record.into_bytes())));
            prop_assert_eq!(decoder.next_frame(), None);
        }
    }
}
