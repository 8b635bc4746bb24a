//! Quality flags of a measured sweep: a bit set. A sweep is acceptable when no bit is set
//! (AANEM: low-quality sweeps are flagged, never measured silently).

/// The negative peak is less than `min_snr` × baseline noise above the baseline.
pub const LOW_SNR: u32 = 1 << 0;
/// The deviation never falls below the onset threshold between the search start and the
/// negative peak: the takeoff lies before the window (often inside the stimulus artefact).
pub const ONSET_AT_WINDOW_START: u32 = 1 << 1;
/// The signal never comes back to the baseline after the negative peak.
pub const NO_RETURN: u32 = 1 << 2;
/// The sweep holds NaN or ±inf; nothing is measured.
pub const NON_FINITE: u32 = 1 << 3;
/// The negative peak does not reach the onset threshold (or lies at or above the
/// baseline): there is no negative takeoff to time.
pub const NO_ONSET: u32 = 1 << 4;

/// Every flag with its Python-facing name, for export as module constants.
pub const ALL: [(&str, u32); 5] = [
    ("FLAG_LOW_SNR", LOW_SNR),
    ("FLAG_ONSET_AT_WINDOW_START", ONSET_AT_WINDOW_START),
    ("FLAG_NO_RETURN", NO_RETURN),
    ("FLAG_NON_FINITE", NON_FINITE),
    ("FLAG_NO_ONSET", NO_ONSET),
];
