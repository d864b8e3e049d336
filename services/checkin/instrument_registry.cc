#include "services/checkin/instrument_registry.h"

#include "absl/strings/str_cat.h"

namespace peerwell::checkin {

const Item* Instrument::FindItem(const std::string& item_id) const {
  for (const Item& item : items) {
    if (item.id == item_id) return &item;
  }
  return nullptr;
}

namespace {

std::vector<std::string> Ids(int first, int last) {
  std::vector<std::string> ids;
  for (int i = first; i <= last; ++i) ids.push_back(absl::StrCat(i));
  return ids;
}

std::vector<std::string> Ids(std::initializer_list<int> numbers) {
  std::vector<std::string> ids;
  for (int i : numbers) ids.push_back(absl::StrCat(i));
  return ids;
}

// --- pulse: a 30-second check-in after a session (an operational signal, not a scale) --------

Instrument Pulse() {
  Instrument pulse;
  pulse.id = "pulse";
  pulse.title = "After-session pulse";
  pulse.instruction = "A few seconds after a session: how are you doing?";
  pulse.recall_period = "the session just finished";
  std::vector<ResponseOption> yes_no{{0, "No"}, {1, "Yes"}};
  pulse.items = {
      {"energy",
       "How is your energy right now?",
       {{1, "Very low"}, {2, "Low"}, {3, "OK"}, {4, "Good"}, {5, "Very good"}}},
      {"stayed_with_me", "Something from this session has stayed with me.", yes_no},
      {"want_to_talk", "I'd like to talk to someone about it.", yes_no},
  };
  pulse.attribution = "PeerWell after-session pulse. Not a validated scale: no score.";
  pulse.licence = "Part of PeerWell.";
  return pulse;
}

// --- WHO-5 Well-Being Index --------------------------------------------------------------------

Instrument Who5() {
  Instrument who5;
  who5.id = "who5";
  who5.title = "WHO-5 Well-Being Index";
  who5.instruction =
      "Please indicate for each of the five statements which is closest to how you have been "
      "feeling over the last two weeks.";
  who5.recall_period = "the last two weeks";
  std::vector<ResponseOption> options{{5, "All of the time"},
                                      {4, "Most of the time"},
                                      {3, "More than half of the time"},
                                      {2, "Less than half of the time"},
                                      {1, "Some of the time"},
                                      {0, "At no time"}};
  const char* texts[] = {"I have felt cheerful and in good spirits.",
                         "I have felt calm and relaxed.", "I have felt active and vigorous.",
                         "I woke up feeling fresh and rested.",
                         "My daily life has been filled with things that interest me."};
  for (int i = 0; i < 5; ++i) who5.items.push_back({absl::StrCat(i + 1), texts[i], options});
  who5.scales = {
      {"who5_raw", Ids(1, 5), ScaleMethod::kSum, 0, 1, {}, {}},
      {"who5",
       Ids(1, 5),
       ScaleMethod::kScaledSum,
       0,
       4,
       {},
       {{28, true, "likely_depression"}, {50, true, "poor"}, {100, true, "good"}}},
  };
  who5.attribution =
      "WHO-5 Well-Being Index © World Health Organization Regional Office for Europe, 1998; "
      "developed at the Psychiatric Research Unit, Mental Health Centre North Zealand (WHO "
      "Collaborating Centre in Mental Health), Hillerød, Denmark. Topp CW, Østergaard SD, "
      "Søndergaard S, Bech P. The WHO-5 Well-Being Index: a systematic review of the literature. "
      "Psychother Psychosom 2015;84:167–176.";
  who5.licence = "Free to use without permission; the source must be cited.";
  return who5;
}

// --- Copenhagen Burnout Inventory ------------------------------------------------------------

Instrument Cbi() {
  Instrument cbi;
  cbi.id = "cbi";
  cbi.title = "Copenhagen Burnout Inventory";
  cbi.instruction = "Please answer each question about how you have been feeling lately.";
  cbi.recall_period = "lately (the CBI states no fixed period)";
  std::vector<ResponseOption> frequency{
      {100, "Always"}, {75, "Often"}, {50, "Sometimes"}, {25, "Seldom"}, {0, "Never/almost never"}};
  std::vector<ResponseOption> degree{{100, "To a very high degree"},
                                     {75, "To a high degree"},
                                     {50, "Somewhat"},
                                     {25, "To a low degree"},
                                     {0, "To a very low degree"}};
  struct Text {
    const char* text;
    bool frequency_scale;
  };
  const Text texts[] = {
      // Personal burnout (1-6).
      {"How often do you feel tired?", true},
      {"How often are you physically exhausted?", true},
      {"How often are you emotionally exhausted?", true},
      {"How often do you think: “I can’t take it anymore”?", true},
      {"How often do you feel worn out?", true},
      {"How often do you feel weak and susceptible to illness?", true},
      // Volunteering-related burnout (7-13), adapted from work-related burnout.
      {"Is your volunteering emotionally exhausting?", false},
      {"Do you feel burnt out because of your volunteering?", false},
      {"Does your volunteering frustrate you?", false},
      {"Do you feel worn out at the end of a day of volunteering?", true},
      {"Are you exhausted in the morning at the thought of another day of volunteering?", true},
      {"Do you feel that every hour of volunteering is tiring for you?", true},
      {"Do you have enough energy for family and friends during leisure time?", true},
      // Burnout related to the people supported (14-19), adapted from client-related burnout.
      {"Do you find it hard to work with the people you support?", false},
      {"Do you find it frustrating to work with the people you support?", false},
      {"Does it drain your energy to work with the people you support?", false},
      {"Do you feel that you give more than you get back when you work with the people you "
       "support?",
       false},
      {"Are you tired of working with the people you support?", true},
      {"Do you sometimes wonder how long you will be able to continue working with the people "
       "you support?",
       true},
  };
  for (int i = 0; i < 19; ++i) {
    Item item{absl::StrCat(i + 1), texts[i].text, texts[i].frequency_scale ? frequency : degree};
    item.required = false;  // the missing-data rule decides per scale
    item.reversed = i + 1 == 13;
    cbi.items.push_back(std::move(item));
  }
  std::vector<Band> bands{
      {50, false, "low"}, {75, false, "moderate"}, {100, false, "high"}, {100, true, "severe"}};
  cbi.scales = {
      {"cbi_personal", Ids(1, 6), ScaleMethod::kMean, 3, 1, {}, bands},
      {"cbi_volunteering", Ids(7, 13), ScaleMethod::kMean, 4, 1, {}, bands},
      {"cbi_people_supported", Ids(14, 19), ScaleMethod::kMean, 3, 1, {}, bands},
  };
  cbi.attribution =
      "Copenhagen Burnout Inventory: Kristensen TS, Borritz M, Villadsen E, Christensen KB. The "
      "Copenhagen Burnout Inventory: a new tool for the assessment of burnout. Work & Stress "
      "2005;19(3):192–207. English version used in the PUMA study (National Research Centre for "
      "the Working Environment, Denmark).";
  cbi.licence = "Free to use with citation of the source.";
  cbi.adaptation =
      "Adapted for peer volunteers: “work” is “volunteering” (items 7–12) and “clients” are "
      "“the people you support” (items 14–19); scales named accordingly.";
  return cbi;
}

// --- ProQOL 5 ---------------------------------------------------------------------------------

Instrument Proqol5() {
  Instrument proqol;
  proqol.id = "proqol5";
  proqol.title = "Professional Quality of Life Scale (ProQOL) version 5";
  proqol.instruction =
      "When you support people you have direct contact with their lives. As you may have found, "
      "your compassion for those you support can affect you in positive and negative ways. Below "
      "are some questions about your experiences, both positive and negative, as a peer "
      "volunteer. Consider each of the following questions about you and your current work "
      "situation. Select the number that honestly reflects how frequently you experienced these "
      "things in the last 30 days.";
  proqol.recall_period = "the last 30 days";
  std::vector<ResponseOption> options{
      {1, "Never"}, {2, "Rarely"}, {3, "Sometimes"}, {4, "Often"}, {5, "Very Often"}};
  const char* texts[] = {
      "I am happy.",
      "I am preoccupied with more than one person I support.",
      "I get satisfaction from being able to support people.",
      "I feel connected to others.",
      "I jump or am startled by unexpected sounds.",
      "I feel invigorated after working with those I support.",
      "I find it difficult to separate my personal life from my life as a peer volunteer.",
      "I am not as productive at work because I am losing sleep over traumatic experiences of a "
      "person I support.",
      "I think that I might have been affected by the traumatic stress of those I support.",
      "I feel trapped by my job as a peer volunteer.",
      "Because of my peer support work, I have felt \"on edge\" about various things.",
      "I like my work as a peer volunteer.",
      "I feel depressed because of the traumatic experiences of the people I support.",
      "I feel as though I am experiencing the trauma of someone I have supported.",
      "I have beliefs that sustain me.",
      "I am pleased with how I am able to keep up with peer support techniques and protocols.",
      "I am the person I always wanted to be.",
      "My work makes me feel satisfied.",
      "I feel worn out because of my work as a peer volunteer.",
      "I have happy thoughts and feelings about those I support and how I could help them.",
      "I feel overwhelmed because my case support load seems endless.",
      "I believe I can make a difference through my work.",
      "I avoid certain activities or situations because they remind me of frightening "
      "experiences of the people I support.",
      "I am proud of what I can do to support others.",
      "As a result of my peer support work, I have intrusive, frightening thoughts.",
      "I feel \"bogged down\" by the system.",
      "I have thoughts that I am a \"success\" as a peer volunteer.",
      "I can't recall important parts of my work with trauma victims.",
      "I am a very caring person.",
      "I am happy that I chose to do this work.",
  };
  for (int i = 0; i < 30; ++i) {
    Item item{absl::StrCat(i + 1), texts[i], options};
    item.required = false;  // a scale with a missing item is left out
    int number = i + 1;
    item.reversed = number == 1 || number == 4 || number == 15 || number == 17 || number == 29;
    proqol.items.push_back(std::move(item));
  }
  std::vector<Band> bands{{22, true, "low"}, {41, true, "moderate"}, {50, true, "high"}};
  proqol.scales = {
      {"proqol_compassion_satisfaction",
       Ids({3, 6, 12, 16, 18, 20, 22, 24, 27, 30}),
       ScaleMethod::kSum,
       0,
       1,
       {},
       bands},
      {"proqol_burnout",
       Ids({1, 4, 8, 10, 15, 17, 19, 21, 26, 29}),
       ScaleMethod::kSum,
       0,
       1,
       {},
       bands},
      {"proqol_secondary_traumatic_stress",
       Ids({2, 5, 7, 9, 11, 13, 14, 23, 25, 28}),
       ScaleMethod::kSum,
       0,
       1,
       {},
       bands},
  };
  proqol.attribution =
      "ProQOL 5 © B. Hudnall Stamm, 2009–2012. Professional Quality of Life: Compassion "
      "Satisfaction and Fatigue Version 5 (ProQOL). Used with credit to The Center for Victims "
      "of Torture, www.ProQOL.org. The ProQOL is not sold.";
  proqol.licence =
      "May be freely copied and used if The Center for Victims of Torture is credited with a link "
      "to www.ProQOL.org, it is not sold, and changes beyond the bracketed terms are labelled "
      "“adapted from the ProQOL”.";
  proqol.adaptation =
      "Adapted from the ProQOL: the bracketed terms [help], [helper], [helping], [helped] and "
      "[work] read “support”, “peer volunteer”, “peer support work”, “supported” and "
      "“support”.";
  return proqol;
}

// --- SWEMWBS --------------------------------------------------------------------------------

Instrument Swemwbs() {
  Instrument swemwbs;
  swemwbs.id = "swemwbs";
  swemwbs.title = "Short Warwick-Edinburgh Mental Wellbeing Scale (SWEMWBS)";
  swemwbs.instruction =
      "Below are some statements about feelings and thoughts. Please tick the box that best "
      "describes your experience of each over the last 2 weeks.";
  swemwbs.recall_period = "the last 2 weeks";
  std::vector<ResponseOption> options{{1, "None of the time"},
                                      {2, "Rarely"},
                                      {3, "Some of the time"},
                                      {4, "Often"},
                                      {5, "All of the time"}};
  const char* texts[] = {"I’ve been feeling optimistic about the future",
                         "I’ve been feeling useful",
                         "I’ve been feeling relaxed",
                         "I’ve been dealing with problems well",
                         "I’ve been thinking clearly",
                         "I’ve been feeling close to other people",
                         "I’ve been able to make up my own mind about things"};
  for (int i = 0; i < 7; ++i) swemwbs.items.push_back({absl::StrCat(i + 1), texts[i], options});
  // Raw score (7-35) to metric score: the official conversion table (Stewart-Brown et al. 2009).
  std::vector<std::pair<int, double>> table{
      {7, 7.00},   {8, 9.51},   {9, 11.25},  {10, 12.40}, {11, 13.33}, {12, 14.08},
      {13, 14.75}, {14, 15.32}, {15, 15.84}, {16, 16.36}, {17, 16.88}, {18, 17.43},
      {19, 17.98}, {20, 18.59}, {21, 19.25}, {22, 19.98}, {23, 20.73}, {24, 21.54},
      {25, 22.35}, {26, 23.21}, {27, 24.11}, {28, 25.03}, {29, 26.02}, {30, 27.03},
      {31, 28.13}, {32, 29.31}, {33, 30.70}, {34, 32.55}, {35, 35.00}};
  swemwbs.scales = {{"swemwbs", Ids(1, 7), ScaleMethod::kTableLookup, 0, 1, table, {}}};
  swemwbs.attribution =
      "Short Warwick Edinburgh Mental Wellbeing Scale (SWEMWBS) © NHS Health Scotland, "
      "University of Warwick and University of Edinburgh, 2008, all rights reserved. "
      "Stewart-Brown S et al. Health Qual Life Outcomes 2009;7:15.";
  swemwbs.licence =
      "Used under the organisation's own licence from Warwick Medical School; enabled only once "
      "the organisation records its registration. The wording must not be changed.";
  swemwbs.requires_registration = true;
  return swemwbs;
}

}  // namespace

const std::vector<Instrument>& AllInstruments() {
  static const auto* instruments =
      new std::vector<Instrument>{Pulse(), Who5(), Cbi(), Proqol5(), Swemwbs()};
  return *instruments;
}

const Instrument* FindInstrument(const std::string& instrument_id) {
  for (const Instrument& instrument : AllInstruments()) {
    if (instrument.id == instrument_id) return &instrument;
  }
  return nullptr;
}

std::vector<const Instrument*> EnabledInstruments(bool swemwbs_registered) {
  std::vector<const Instrument*> enabled;
  for (const Instrument& instrument : AllInstruments()) {
    if (!instrument.requires_registration || swemwbs_registered) enabled.push_back(&instrument);
  }
  return enabled;
}

}  // namespace peerwell::checkin
