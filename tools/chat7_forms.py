"""The writing lists and every form's phrasings of ``make_chat7.py`` (fifty-fifth session)."""

# lists packed several to a line, as written:
# fmt: off
WORDY = (  # sentences to shorten
    "At this point in time, we are not in a position to be able to offer you a refund.",
    "Due to the fact that the bus was late, I arrived at the office later than I had planned "
    "to arrive.", "In my personal opinion, I think that we should probably consider the "
    "option of moving the launch date.", "The committee came to the conclusion that further "
    "discussion of the matter would be needed at some point in the future.", "It is "
    "absolutely essential that each and every member of staff reads the new policy in full.",
    "We would like to take this opportunity to let you know that the library will be closed "
    "on Monday.", "In the event that you are unable to attend, please be so kind as to let "
    "us know in advance.", "The reason why the project failed is because of the fact that "
    "nobody planned it properly.", "She made the decision to go ahead and start the course "
    "in spite of the fact that she was busy.", "For the purpose of saving money, we have "
    "decided to cut back on the number of printed copies.", "There are many people who "
    "believe that the new park is a very good addition to the town.", "I am writing this "
    "message in order to ask whether you might possibly have time for a call next week.",
    "Our team has been working on a daily basis to make improvements to the app.", "Please "
    "note that all forms must be handed in no later than the final deadline of Friday.",
    "It has come to our attention that a number of parking spaces are being used by "
    "visitors.",
)
ASKWHO = (  # "What questions should I ask ...?"
    "at the end of a job interview", "a landlord before signing a lease", "a doctor about a "
    "new prescription", "a wedding photographer before booking", "my daughter's teacher at a "
    "parents' evening", "a contractor before a kitchen renovation", "a financial adviser at a "
    "first meeting", "a new manager in our first one-to-one", "a daycare before enrolling my "
    "son", "a seller of a used bike", "a mentor I admire", "a vet about my ageing cat",
    "references for a nanny", "a university admissions office", "a roommate before moving in",
    "a personal trainer before signing up",
)
CARDS = (  # "a ... card"
    "sympathy", "retirement", "new baby", "get-well", "graduation", "farewell",
    "housewarming", "wedding anniversary", "new job", "good luck", "engagement",
    "birthday", "Mother's Day", "Father's "
    "Day", "teacher's end-of-year", "moving-away",
)
OPENINGS = (  # first lines for ...
    "an essay on city parks", "a talk about saving energy at home", "a newsletter to parents",
    "a short story set in a lighthouse", "a college application essay about moving countries",
    "a speech at a school reunion", "a blog post about quitting sugar", "a report on "
    "workplace safety", "a podcast episode about sleep", "a fundraising letter for an animal "
    "shelter", "a wedding speech by the best man", "a presentation on quarterly sales",
    "a travel article about a night train", "a LinkedIn post announcing a new job",
    "a museum audio guide", "a welcome speech for new students",
)
NOTES = (  # (for whom, about what): a note explaining
    ("my house-sitter", "how to feed the cat and when to take out the bins"), ("a new "
    "colleague", "how our weekly rota works"), ("the babysitter", "the kids' bedtime routine"),
    ("my neighbour", "how to water the plants while I'm away"), ("a dog walker", "my dog's "
    "habits and where the leash is"), ("a substitute teacher", "what my class is working on"),
    ("guests staying in my flat", "the wifi, the heating and the keys"), ("my temp "
    "replacement", "which emails need an answer the same day"), ("the cleaner", "which rooms "
    "to skip this week"), ("my teenage son", "how to use the washing machine"), ("a new "
    "volunteer", "how to open the community centre"), ("a friend borrowing my car", "its "
    "quirks and the parking permit"),
)
TELLS = (  # "How do I tell ...?"
    "my landlord that the heating has broken again", "a friend that I can't afford the trip",
    "my boss that I need to leave early on Fridays", "my flatmate to do the dishes", "a "
    "client that the project will be late", "my parents that I'm changing degree", "a "
    "coworker that their music is too loud", "my team that a colleague is leaving", "a "
    "friend that I forgot their birthday", "my neighbour that their tree blocks my light",
    "a customer that the item is discontinued", "my coach that I want to quit",
    "the group that I'm skipping this year's trip", "my sister that I can't host her",
)
PARAS7 = (  # paragraphs to turn into bullet points
    "To join the library you need proof of address and a photo ID. Membership is free for "
    "residents. Members can borrow ten items at once for three weeks, and can renew online "
    "twice unless someone else has reserved the item.",
    "The new recycling rules start in May. Glass goes in the green box, paper and card in "
    "the blue bag, and food scraps in the small brown caddy. Collections move to Tuesdays, "
    "and bins must be out by 7 am.",
    "Before the trip, every student needs a signed consent form, a packed lunch and a "
    "waterproof jacket. The coach leaves at 8:15 from the main gate and returns at about 4. "
    "Phones are allowed but must stay in bags during the tour.",
    "Our support desk is open on weekdays from 9 to 6. Urgent problems should be reported by "
    "phone; anything else by the online form. We answer forms within two working days and "
    "close tickets after a week without an answer.",
    "The course runs for eight weeks on Thursday evenings. Each session has a short talk, "
    "an hour of practice and time for questions. Materials are provided, but bring a "
    "notebook, and let us know in advance if you will miss a class.",
    "The flat has two bedrooms, a small balcony and a shared garden. Rent includes heating "
    "but not electricity. Pets are allowed with a deposit, and the lease is for at least a "
    "year, starting in September.",
    "The clinic has moved to the first floor of the Kingsway building. Appointments can be "
    "booked online or by phone. Please arrive ten minutes early, bring your card, and cancel "
    "at least a day ahead if you cannot come.",
    "Volunteers at the food bank sort donations, pack boxes and greet visitors. Shifts last "
    "three hours, mornings or afternoons. New volunteers do one training shift first and "
    "must wear closed shoes.",
    "The office will close for the holidays from 23 December and reopen on 3 January. "
    "Laptops should go home with their owners, desks should be cleared, and out-of-office "
    "messages switched on before leaving.",
)
JARGON = (  # held out: sentences full of jargon
    "We need to leverage our core competencies to drive synergies across verticals going "
    "forward.", "The patient presented with acute dyspnoea and was admitted for observation "
    "pending further investigations.", "The lessee shall indemnify the lessor against all "
    "claims arising from the lessee's use of the premises.", "Our solution delivers "
    "end-to-end, cloud-native scalability to empower best-in-class customer journeys.",
    "Please action the deliverables and circle back with a status update by EOD.",
    "The borrower's obligations hereunder shall survive the termination of this agreement.",
    "The intervention yielded a statistically significant reduction in adverse outcomes "
    "relative to the control cohort.", "Latency spikes were attributable to contention on "
    "the shared connection pool under peak load.", "The appellant contends that the lower "
    "court erred in its interpretation of the statute.", "We are pivoting to a "
    "customer-centric, data-driven paradigm to unlock value at scale.", "Post-operatively, "
    "the patient should remain NPO until bowel sounds return.", "Our Q3 numbers reflect "
    "headwinds in the macro environment, offset by margin tailwinds.",
)
IDEAS = (  # held out: what to pitch
    "an app that matches dog owners for shared walks", "a café that also repairs bikes",
    "a service that plans family meals for the week", "a tool that reminds people to call "
    "their grandparents", "a neighbourhood tool-lending library", "a tutoring service run by "
    "retired teachers", "a subscription box of local snacks", "a website that compares "
    "childcare options nearby", "a language exchange club for new arrivals", "a bakery that "
    "sells yesterday's bread at half price", "a scheme to share allotment gardens",
    "a mobile car-wash business", "myself as a freelance designer", "my idea for a "
    "four-day school week",
)
# the phrasings of make_chat7.py's forms: form -> (phrasings, the slot list); held last
CODE = {
    "pseudocode": (("Write this pseudocode as real {lang} code:\n\n```\n{s}\n```", "Here is "
                    "some pseudocode. Implement it in {lang}:\n\n```\n{s}\n```"), "PSEUDO"),
    "command": (("What does this command do? `{s}`", "Explain each part of this shell "
                 "command: `{s}`", "I found `{s}` in a script. What does it do, and is it "
                 "risky to run?"), "COMMANDS"),
    "dbdesign": (("How would you design the {db} tables for {s}?", "Sketch a {db} schema for "
                  "{s}, with keys.", "What {db} tables and relationships would {s} need?"),
                 "APPS"),
    "library": (("Which {s[0]} library would you use to {s[1]}?", "What is a good {s[0]} "
                 "package to {s[1]}, and how do I start with it?", "Recommend a {s[0]} "
                 "library to {s[1]} and show a small example."), "LIBRARIES"),
    "whichlang": (("Should I learn {s[0]} or {s[1]} if I want to {s[2]}?", "I want to {s[2]}. "
                   "Is {s[0]} or {s[1]} the better choice?", "{s[0]} or {s[1]} to {s[2]}: "
                   "which would you pick and why?"), "WHICHLANG"),
    "naming": (("Suggest clearer names for the variables and functions in this {lang} code:",
                "The names in this {lang} snippet are cryptic. Rename things so it reads "
                "well:"), "SNIPPETS7"),
    "errors": (("How should I handle errors when {s[1]} in {s[0]}?", "In {s[0]}, what is the "
                "right way to deal with it when {s[1]}?", "Show good error handling in "
                "{s[0]} for when {s[1]}."), "ERRCASES"),
    "security": (("Is this {lang} code secure? What would you change?", "What security "
                  "problem does this {lang} snippet have?", "Could an attacker abuse this "
                  "{lang} code? How would you fix it?"), "SECURE"),
    "formula": (("Write a spreadsheet formula that {s}.", "What Excel formula {s}?", "In "
                 "Google Sheets, I need a formula that {s}. How do I write it?"), "SHEETS"),
}
KNOW = {
    "why": (("Why {s}?", "Can you explain why {s}?", "I've always wondered: why {s}?"), "WHY"),
    "stepwise": (("Explain step by step how {s}.", "Walk me through what happens, step by "
                  "step, when {s}.", "Break down how {s}, one step at a time."), "STEPWISE"),
    "before": (("How did people {s[0]} before {s[1]} existed?", "Before {s[1]}, how did "
                "people {s[0]}?", "What did people do to {s[0]} in the era before {s[1]}?"),
               "BEFORE"),
    "systems": (("How does {s[0]} differ between {s[1]} and {s[2]}?", "Contrast how {s[1]} "
                 "and {s[2]} handle {s[0]}.", "In {s[1]} and in {s[2]}, how does {s[0]} "
                 "work?"), "SYSTEMS"),
    "counter": (("Define {s}, then give one example and one counter-example.", "What counts "
                 "as {s}? Give something that is one and something that isn't.", "Give a "
                 "definition of {s}, with an example and a near miss that doesn't qualify."),
                "DEFINE7"),
    "knowbefore": (("What should I know before {s}?", "I'm thinking about {s}. What do I need "
                    "to know first?", "What do people wish they'd known before {s}?"),
                   "KNOWBEFORE"),
    "chain": (("Trace the chain of cause and effect from {s[0]} to {s[1]}.", "How can {s[0]} "
               "lead to {s[1]}? Walk through each link.", "Connect {s[0]} to {s[1]} as a "
               "series of causes and effects."), "CHAINS"),
    "landform": (("How do {s} form?", "What natural forces shape {s}, and where are they "
                  "found?", "Over what timescale do {s} come to exist, and how?"), "LANDFORMS"),
    "climate": (("What explains {s}?", "Give the geographic reasons for {s}.", "Which "
                 "factors of geography and climate lie behind {s}?"), "CLIMATES"),
    "changed": (("How has {s} changed over the last hundred years?", "Compare {s} a century "
                 "ago with {s} today.", "What were the biggest changes to {s} since the "
                 "1920s?"), "CHANGED"),
    "analogy": (("Explain {s} with an analogy from everyday life.", "Give me a good analogy "
                 "for {s}.", "What everyday thing is {s} like? Explain it by analogy."),
                "CONCEPTS7"),
    "levels": (("Explain {s} first for a beginner, then for an expert.", "Give two "
                "explanations of {s}: one for a complete beginner, one for a specialist.",
                "How would you explain {s} to a beginner, and how to a professional?"),
               "CONCEPTS7"),
}
WRITE = {
    "concise": (("Make this sentence shorter without losing its meaning:\n\n{s}", "Cut the "
                 "wordiness from this:\n\n{s}", "Say this in fewer words:\n\n{s}"), "WORDY"),
    "questions": (("What questions should I ask {s}?", "Give me a list of good questions to "
                   "ask {s}.", "Which questions should I prepare to ask {s}?"), "ASKWHO"),
    "card": (("What should I write in a {s} card for {who}?", "Write a short message for a {s} "
              "card to {who}.", "Give me three ideas for what to write in a {s} card for {who}."),
             "CARDS"),
    "opening": (("Write a {tone} first sentence for {s}.", "Give me three {tone} ways to open "
                 "{s}.", "How could I start {s}? Suggest a {tone} opening line."),
                "OPENINGS"),
    "note": (("Write a note for {s[0]} explaining {s[1]}.", "Help me leave clear instructions "
              "for {s[0]}: {s[1]}.", "Draft a friendly note to {s[0]} about {s[1]}."),
             "NOTES"),
    "tell": (("How do I tell {s}? Give me the words to say.", "Help me find the words to tell "
              "{s}.", "What's a kind but clear way to tell {s}?"), "TELLS"),
    "bullets7": (("Turn this paragraph into a bulleted list:\n\n{s}", "Break this text into "
                  "short bullet points:\n\n{s}", "Make this easier to scan as a list:\n\n{s}"),
                 "PARAS7"),
    "plain": (("Rewrite this in plain English:\n\n{s}", "Translate this jargon into plain "
               "language:\n\n{s}", "What does this mean? Put it in plain English.\n\n{s}"),
              "JARGON"),
    "pitch": (("Write a 30-second elevator pitch for {s}.", "Help me pitch {s} in three "
               "sentences.", "Give me a short, persuasive pitch for {s}."), "IDEAS"),
}
LANGS = ("JavaScript", "TypeScript", "Java", "Go", "C#", "Kotlin", "Swift", "Ruby", "PHP", "C++")
EXTRA = {  # a second slot some forms fill: form -> (key, choices)
    "pseudocode": ("lang", LANGS),
    "dbdesign": ("db", ("PostgreSQL", "MySQL", "SQLite", "SQL Server")),
    "card": ("who", ("a colleague", "a close friend", "my neighbour", "my aunt", "a client")),
    "opening": ("tone", ("funny", "serious", "surprising", "personal", "attention-grabbing")),
}
# fmt: on

if __name__ == "__main__":  # `--help`, and how many entries each list holds
    import argparse

    argparse.ArgumentParser(description=__doc__).parse_args()
    for name, value in sorted(globals().items()):
        if name.isupper() and isinstance(value, tuple | dict):
            print(f"{name}: {len(value)}")
