"""The writing lists and every form's phrasings of ``make_chat6.py`` (fifty-fifth session)."""

# lists packed several to a line, as written:
# fmt: off
TONES = ("friendlier", "more casual", "more confident", "warmer", "more enthusiastic",
         "more diplomatic", "more polite", "more upbeat", "less pushy", "more grateful")
MESSAGES = (  # blunt messages to rewrite in a tone
    "Send me the numbers by Friday. I asked last week already.", "The party is cancelled. "
    "Don't come.", "Your order is late because the supplier messed up. Nothing we can do.",
    "I can't make the meeting. Move it.", "We need the room back by 5. Clean up after "
    "yourselves.", "Thanks for the gift. I already have one though.", "The app is down again. "
    "Fix it.", "You forgot to sign the form. Do it today.", "I won the prize. Just so you "
    "know.", "New rule: no food at the desks from Monday.", "Rent goes up by 50 dollars next "
    "month.", "Your essay is too long. Cut it in half.", "Can't lend you the car. I need it.",
    "We picked another candidate for the job.", "The printer is broken. Use the one "
    "downstairs.", "Stop parking in my spot.", "I finished the project early. The team was "
    "slow, but it's done.", "Bring your own plates to the picnic.", "The price is final. "
    "Take it or leave it.", "I need a day off tomorrow.",
)
COMMENTS = (  # customer comments for sentiment
    "The delivery was fast and the shoes fit perfectly. Will order again!", "Took three "
    "weeks to arrive and the box was crushed.", "The hotel room was clean, but the staff "
    "seemed annoyed every time we asked for anything.", "Honestly the best pizza I've had "
    "in years.", "It works, I guess. Nothing special.", "The battery dies after two hours. "
    "Very disappointed.", "Great teacher, although the classes start far too early.",
    "I waited forty minutes for a table and the soup was lukewarm.", "Lovely little shop, "
    "friendly owner, fair prices.", "The app keeps logging me out. Otherwise it does the job.",
    "Five stars. The plumber came on time and fixed everything in an hour.", "The film "
    "looked beautiful but the story dragged.", "Not worth the money. The zip broke on the "
    "first trip.", "My kids loved the museum, and the cafe was a nice surprise.", "The "
    "instructions were confusing, but support helped me set it up.", "Still waiting for my "
    "refund after a month.", "Comfortable chair, easy to assemble, looks great in my office.",
    "The gym is clean but far too crowded after work.", "Tastes fine, but the portion was "
    "tiny for the price.", "Absolutely love this jacket. Warm, light and well made.",
    "The course covered a lot, but the videos were poorly recorded.", "Rude driver, dirty "
    "bus, and we arrived late.",
)
PASSAGES = (  # (text, question): answer from the text only
    ("The town's farmers' market opens every Saturday from 8 am to 1 pm on the square behind "
     "the library. From April, a second market will run on Wednesday evenings from 4 to "
     "7 pm, with live music and food stalls.", "On which days will the market run from April?"),
    ("The town's farmers' market opens every Saturday from 8 am to 1 pm on the square behind "
     "the library. From April, a second market will run on Wednesday evenings from 4 to "
     "7 pm, with live music and food stalls.", "Where is the market held?"),
    ("Mira started her bakery in a rented garage with one oven. After two years of selling "
     "at local fairs, she moved into a shop on Elm Street and hired three staff. Her sourdough "
     "now sells out by ten most mornings.", "How did Mira sell her bread before she had a shop?"),
    ("Mira started her bakery in a rented garage with one oven. After two years of selling "
     "at local fairs, she moved into a shop on Elm Street and hired three staff. Her sourdough "
     "now sells out by ten most mornings.", "How many people work for Mira?"),
    ("Our office will switch to a new booking system for meeting rooms on 3 June. Rooms can "
     "then be booked up to four weeks ahead, and bookings not used within fifteen minutes "
     "will be released automatically.", "What happens to a booking nobody uses?"),
    ("Our office will switch to a new booking system for meeting rooms on 3 June. Rooms can "
     "then be booked up to four weeks ahead, and bookings not used within fifteen minutes "
     "will be released automatically.", "How far ahead can a room be booked?"),
    ("Honeycrisp apples were bred at a university in Minnesota and released in 1991. They are "
     "prized for their crisp texture, but the trees are hard to grow and the fruit bruises "
     "easily, which keeps prices high.", "Why are these apples expensive?"),
    ("The Riverside Book Club meets on the last Thursday of each month. Members vote on the "
     "next book at each meeting, and whoever suggested the winning title hosts the following "
     "month. New members can join by emailing the organiser, Dev.", "Who hosts a meeting?"),
    ("The Riverside Book Club meets on the last Thursday of each month. Members vote on the "
     "next book at each meeting, and whoever suggested the winning title hosts the following "
     "month. New members can join by emailing the organiser, Dev.", "How can someone join?"),
    ("The new bike-share scheme has 40 stations across the city. The first 30 minutes of each "
     "ride are free for members, who pay 8 dollars a month; others pay 2 dollars per ride.",
     "How much does a non-member pay for a ride?"),
    ("After the storm, the coastal path was closed between the lighthouse and the harbour. "
     "The council expects repairs to take six weeks, and walkers are asked to use the inland "
     "route through the woods meanwhile.", "Which part of the path is closed?"),
    ("After the storm, the coastal path was closed between the lighthouse and the harbour. "
     "The council expects repairs to take six weeks, and walkers are asked to use the inland "
     "route through the woods meanwhile.", "What should walkers do while it is closed?"),
    ("Jonas trained for a half marathon for twelve weeks, running four times a week. He "
     "finished in 1 hour 52 minutes, eight minutes faster than his goal, and has already "
     "signed up for another race in the autumn.", "Did Jonas beat his goal, and by how much?"),
    ("The museum's new wing, funded by a local family, doubles the space for modern art. "
     "Entry to the wing is free on Sundays; on other days it is included in the normal "
     "ticket.", "When can people visit the new wing for free?"),
)
PHOTOS = (  # captions: "a photo of ..."
    "my dog asleep on the sofa", "a sunset at the beach", "our first home", "a plate of "
    "homemade pasta", "my friends at a music festival", "a rainy street at night", "my "
    "grandmother's garden", "a mountain hike with my sister", "my new bike", "a cosy reading "
    "corner", "our team after winning the league", "a cup of coffee and a book", "my cat "
    "staring out the window", "a snowy morning in the park", "my graduation day", "a road "
    "trip through the desert", "a birthday cake I baked", "fresh flowers from the market",
    "my desk setup", "a picnic by the lake", "the view from my balcony", "our wedding day",
    "a farmers' market haul", "my first marathon medal", "a camping trip under the stars",
)
DECLINES = (  # "Help me politely say no to ..."
    "a friend's wedding invitation because I'll be travelling", "a coworker who wants me to "
    "cover their weekend shift", "a job offer after accepting another one", "a neighbour "
    "asking to borrow my car", "joining the office fundraising committee", "a second date",
    "a client asking for a discount", "hosting the family holiday dinner this year",
    "a request to speak at a conference", "lending money to a cousin", "a sales call asking "
    "for a meeting", "a friend's invitation to a late party on a work night", "a manager "
    "asking me to take on another project", "a group trip that is over my budget",
    "being the team's note-taker every week", "a free trial upgrade offer", "a request to "
    "be a bridesmaid", "joining a book club", "an invitation to run a marathon relay",
    "a freelance project with too short a deadline",
)
REFEREES = (  # reference letters
    "a former intern who was reliable and curious", "a babysitter who looked after two kids "
    "for three years", "a colleague applying to be a team lead", "a student applying to a "
    "master's program in biology", "a volunteer at a food bank", "a tenant who always paid "
    "on time", "a junior developer leaving for a new job", "a barista with great customer "
    "skills", "a research assistant who ran lab experiments", "a cleaner who worked in our "
    "office for five years", "a football coach applying to a school", "a nurse moving to a "
    "new hospital", "a graphic designer who worked freelance for us", "a teaching assistant "
    "applying to teacher training", "a warehouse worker applying for a supervisor role",
    "a sales rep who beat every target", "a tutor who helped my son with maths",
    "an accountant who worked with us for a decade",
)
BLOG = (  # titles for a post, article or newsletter on ...
    "saving money on a student budget", "learning to cook at forty", "moving abroad for "
    "work", "the first year of running a small business", "decluttering a family home",
    "training for a first 10k", "working night shifts", "growing tomatoes on a balcony",
    "caring for an elderly parent", "switching careers into tech", "travelling with a dog",
    "keeping a bullet journal", "renovating an old kitchen", "cycling to work in winter",
    "learning to paint with watercolours", "living without a car", "raising chickens in the "
    "back yard", "a week without social media", "hosting exchange students", "making "
    "friends after university", "slow travel by train",
)
PHRASES = (  # other words or phrasings
    "very good", "important", "I think", "a lot of", "interesting", "happy", "get better",
    "in conclusion", "said", "big", "problem", "as soon as possible", "help", "use",
    "I'm sorry for the delay", "looking forward to hearing from you", "nice", "show",
    "make sure", "at the end of the day", "hard-working", "change", "thanks a lot",
    "just checking in", "really",
)
EMAILS_IN = (  # held out: emails to answer
    "Hi, I saw your ad for the second-hand bike. Is it still available, and would you take "
    "150 for it? Thanks, Lou", "Dear customer, your subscription ends on the 30th. Would you "
    "like to renew it for another year at the same price? Best, the Support Team", "Hey! We're "
    "planning a surprise party for Kai on Saturday at 7. Can you bring drinks? Let me know "
    "by Thursday. - Ines", "Hello, I'm afraid the sofa you ordered is out of stock until "
    "March. We can offer a full refund or a similar model now. Regards, Homeworks",
    "Hi, this is a reminder that your dentist appointment is on Tuesday at 9:30. Please "
    "confirm or call us to change it.", "Dear team member, we'd love your thoughts on the new "
    "schedule. Could you share any feedback by Friday? Thanks, Priya", "Hi there, I think "
    "your dog got into my garden again and dug up the flower bed. Could we talk about it? "
    "- Mr Olsen", "Hello, thank you for your application. We would like to invite you to an "
    "interview next Wednesday at 11. Does that suit you? Kind regards, Ana (HR)", "Hi, the "
    "invoice you sent shows 12 hours but we agreed on 10. Could you check it? Cheers, Max",
    "Dear parent, the school trip on 14 May needs a signed form and 20 dollars by next week. "
    "Many thanks, Ms Reed", "Hey, long time no see! I'm in town next weekend. Coffee?",
    "Hello, we noticed unusual activity on your account and have paused it. Please contact "
    "us to verify your identity.", "Hi, could you send me the slides from yesterday's "
    "presentation? I missed the end. Thanks, Joe", "Dear volunteer, we are short of helpers "
    "for Sunday's clean-up. Could you come for two hours in the morning? Thanks, Lea",
)
TEXTS = (  # held out: texts to pull names, places, dates or numbers from
    "On 12 March 2023, Dr Lena Ortiz opened a new clinic in Brookfield. The clinic, which "
    "cost 2.4 million dollars, will serve about 8,000 patients a year.", "Tom Becker and "
    "Sara Kim founded their design studio in Leeds in 2015. By 2020 they had 14 employees and "
    "a second office in Glasgow.", "The festival runs from 4 to 7 August in Harbor Park. "
    "Headliners include Nia Moss on Friday and the Blue Lanterns on Saturday; tickets cost "
    "45 dollars a day.", "Mayor Alan Price announced on Monday that the Oak Street bridge "
    "will close on 1 October for repairs lasting nine months, at a cost of 3 million.",
    "In 1998, Yuki Tanaka moved from Osaka to Vancouver, where she opened a noodle shop with "
    "her brother Ken. Twenty years later they run six restaurants.", "The report, written by "
    "Omar Haddad and published on 2 February, found that 62 percent of the 1,500 people "
    "surveyed in Denver use public transport at least once a week.", "Captain Ruth Evans "
    "sailed from Plymouth on 9 June with a crew of 11 and reached Halifax 23 days later.",
    "At the meeting on 18 April, Jenna Lopez was elected chair and Marco Silva treasurer. The "
    "club's 40 members will next meet on 16 May in the Elm Hall.", "Professor Amira Said of "
    "Cedar University won the 2022 Hartley Prize for her work on batteries, which she began "
    "in 2011 with a team of four.", "The charity run on 5 September raised 18,200 dollars. "
    "Organiser Pete Walsh thanked the 320 runners and the bakery on King Road for free "
    "snacks.", "Between 2019 and 2023, sales at Greenleaf Tools grew from 1.2 to 3.5 million "
    "units, CEO Dana White told investors in Boston on Tuesday.", "Aunt Rosa arrives in "
    "Lisbon on 22 December and stays until 3 January; cousin Leo and his partner Mia join "
    "her for New Year.",
)
# the phrasings of make_chat6.py's forms: form -> (phrasings, the slot list); held last
CODE = {
    "spec": (("Write a {lang} function `{s[0]}` that {s[1]}. Example: {s[2]}", "In {lang}, "
              "implement `{s[0]}`, which {s[1]} ({s[2]}).", "I need a {lang} function called "
              "`{s[0]}` that {s[1]}. It should behave like this: {s[2]}"), "SPECS"),
    "langerror": (("My {s[0]} program stops with `{s[1]}`. Why does this happen, and what "
                   "is the fix?", "What causes `{s[1]}` in {s[0]}?", "I keep getting "
                   "`{s[1]}` in my {s[0]} code. How can I track it down?"), "LANG_ERRORS"),
    "regexplain": (("What does the regex `{s}` match?", "Explain this regex piece by piece: "
                    "`{s}`", "Break down what `{s}` matches, with two examples that match and "
                    "one that doesn't."), "REGEXES"),
    "http": (("What does HTTP status {s} mean?", "When should a web API return a {s} status "
              "code?", "My request came back with a {s}. What does that tell me?"), "HTTP"),
    "schema": (("I have the tables {s[0]}. Write a SQL query that {s[1]}.", "Given the tables "
                "{s[0]}, how do I write a query that {s[1]}?", "With {s[0]}, I need SQL that "
                "{s[1]}. Can you write it and explain the join?"), "SCHEMAS"),
    "config": (("Write a {s}.", "Can you give me a {s}?", "Show me a {s}, and explain each "
                "line."), "CONFIGS"),
    "comments": (("Add comments to this {lang} code explaining each step:", "Document this "
                  "{lang} snippet with clear inline comments:"), "SNIPPETS6"),
    "output": (("What does this {lang} code print?", "What is the output of this {lang} "
                "snippet, and why?", "Trace this {lang} code by hand. What gets printed?"),
               "SNIPPETS6"),
    "langconcept": (("Explain {s[1]} in {s[0]} with a short example.", "I'm learning {s[0]}. "
                     "Can you explain {s[1]}?", "What should I know about {s[1]} in {s[0]}? "
                     "Show an example."), "LANG_CONCEPTS"),
    "review": (("Review this {lang} code and suggest improvements:", "Can you do a code review "
                "of this {lang} snippet?", "How could this {lang} code be improved? Review it "
                "like a senior developer:"), "SNIPPETS6"),
    "convert": (("Convert this {s[0]} to {s[1]}:\n\n```\n{s[2]}\n```", "Turn the following "
                 "{s[0]} into {s[1]}:\n\n```\n{s[2]}\n```"), "DATA"),
}
KNOW = {
    "bullets": (("Explain {s} in {n} bullet points.", "Give me {n} bullet points that sum up "
                 "{s}.", "What should I know about {s}? Answer in {n} short bullet points."),
                "TOPICS6"),
    "brief": (("In one or two sentences, what is {s}?", "Explain {s} in under {w} words.",
               "What is {s}? Keep it to a short paragraph."), "TOPICS6"),
    "who": (("Who was {s}?", "Who was {s}? Give me the short version.", "Tell me briefly who "
             "{s} was and what they achieved."), "PEOPLE6"),
    "effects": (("What are the effects of {s[0]} on {s[1]}?", "How does {s[0]} affect {s[1]}?",
                 "What impact does {s[0]} have on {s[1]}?"), "EFFECTS"),
    "process": (("What are the stages of {s}? Give them as a numbered list.", "Break {s} into "
                 "its stages, as a numbered list.", "How does {s} happen, from start to "
                 "finish?"), "PROCESSES"),
    "compare": (("Compare {s[0]} and {s[1]} in a short table.", "How are {s[0]} and {s[1]} "
                 "alike, and how do they differ?", "Give me a side-by-side comparison of "
                 "{s[0]} and {s[1]}."), "COMPARE"),
    "expert": (("Give a technical explanation of {s}, as you would to an expert.", "Explain "
                "{s} at the level of a graduate course.", "Assume I already know the basics: "
                "what are the finer points of {s}?"), "TOPICS6"),
    "acronym": (("What does {s} stand for?", "What does {s} stand for, and what is it?",
                 "Spell out {s} and explain briefly what it means."), "ACRONYMS"),
    "timeline": (("Give me a timeline of the key moments in the history of {s}.", "Make a "
                  "short timeline of {s}, from its beginnings to today.", "List the milestones "
                  "of {s} in date order, as a timeline."), "FIELDS"),
    "quiz": (("Write five quiz questions, with answers, about {s}.", "Make a short quiz on {s} "
              "with an answer key.", "Give me a 5-question multiple-choice quiz about {s}."),
             "QUIZ"),
}
WRITE = {
    "tone": (("Rewrite this message so it sounds {tone}:\n\n{s}", "Make this message "
              "{tone}:\n\n{s}", "Can you change the tone of this to be {tone}?\n\n{s}"),
             "MESSAGES"),
    "sentiment": (("Is this customer comment positive, negative or mixed? Say why in one "
                   "line.\n\n{s}", "What is the sentiment of this feedback: positive, negative "
                   "or neutral?\n\n{s}", "Classify the feeling of this comment as positive, "
                   "negative or mixed:\n\n{s}"), "COMMENTS"),
    "passage": (("Read this text and answer the question below.\n\n{s[0]}\n\nQuestion: "
                 "{s[1]}", "{s[0]}\n\nUsing only the text above: {s[1]}"), "PASSAGES"),
    "caption": (("Write a caption for a photo of {s}.", "Give me three short Instagram "
                 "captions for a picture of {s}.", "Suggest a fun caption for my photo of "
                 "{s}."), "PHOTOS"),
    "decline": (("Help me politely say no to {s}.", "Write a kind message turning down {s}.",
                 "How do I decline {s} without sounding rude? Write the message."), "DECLINES"),
    "reference": (("Write a short reference letter for {s}.", "Write a recommendation for {s}, "
                   "in one paragraph.", "Draft a LinkedIn recommendation for {s}."),
                  "REFEREES"),
    "titles": (("Suggest five titles for a blog post about {s}.", "Give me some catchy "
                "headlines for an article on {s}.", "What would be a good title for a "
                "newsletter about {s}?"), "BLOG"),
    "synonyms": (("Give me five other words for '{s}'.", "What's a more elegant way to say "
                  "'{s}'?", "Suggest a few alternatives to the phrase '{s}'."), "PHRASES"),
    "reply": (("Write a reply to this email:\n\n{s}", "Help me respond to this message "
               "politely:\n\n{s}", "How should I answer this email? Draft a reply.\n\n{s}"),
              "EMAILS_IN"),
    "extract": (("List every person, place and date mentioned in this text:\n\n{s}",
                 "Extract the names and dates from this passage:\n\n{s}", "Pull out all the "
                 "numbers in this text and say what each one refers to:\n\n{s}"), "TEXTS"),
}
EXTRA = {  # a second slot some forms fill: form -> (key, choices)
    "spec": ("lang", ("JavaScript", "TypeScript", "Java", "Go", "C", "C#", "Kotlin", "Swift")),
    "bullets": ("n", (3, 4, 5, 6)),
    "brief": ("w", (30, 50, 80, 100)),
    "tone": ("tone", TONES),
}
# fmt: on

if __name__ == "__main__":  # `--help`, and how many entries each list holds
    import argparse

    argparse.ArgumentParser(description=__doc__).parse_args()
    for name, value in sorted(globals().items()):
        if name.isupper() and isinstance(value, tuple | dict):
            print(f"{name}: {len(value)}")
