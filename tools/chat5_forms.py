"""The writing lists and every form's phrasings of ``make_chat5.py`` (fifty-second session)."""

# lists packed several to a line, as written:
# fmt: off
# writing
BUSINESSES = (
    "a neighbourhood bakery", "a dog-walking service", "a bike repair shop", "a vegan food "
    "truck", "a yoga studio", "a used bookshop", "a house-cleaning service", "an online "
    "tutoring service", "a small coffee roaster", "a plant nursery", "a mobile car wash",
    "a local gym", "a handmade soap shop", "a photography studio", "a web design agency",
    "a craft brewery", "a wedding planner", "a pet grooming salon", "an ice cream parlour",
    "a computer repair shop", "a florist", "a hiking tour company", "a recycling startup",
    "a meal-kit delivery service", "a music school", "a vintage clothing store", "a board game "
    "cafe", "a family-run hotel", "a bicycle courier service", "an escape room",
)
ERRS = (  # sentences with mistakes to fix
    "Their going to the park tomorrow, weather or not it rains.", "Me and him was late to the "
    "meeting.", "The list of items are on the desk.", "She don't like coffee in the morning.",
    "Its a nice day, lets go outside.", "I could of finished the report yesterday.",
    "He has went to the store already.", "Between you and I, the plan wont work.",
    "The dog wagged it's tail at the postman.", "Everyone have their own opinion about it.",
    "We was planning to leave erly.", "There is three reasons I disagree.", "I seen that film "
    "last week end.", "Your welcome to join us for diner.", "The team have finished there "
    "work.", "Less people came to the event then we expected.", "I am writting to apply for "
    "the position.", "Who's book is this?", "He run every morning before work.", "The "
    "informations you sent was very usefull.", "Me and my sister goes to the same school.",
    "Can you borrow me your pen?", "I didn't do nothing wrong.", "The meeting is postponed "
    "to next monday.", "Irregardless of the cost, we should fix it.",
)
NOTES = (  # notes to expand into a paragraph
    "- team meeting Monday 10am\n- new project: website redesign\n- deadline end of March\n"
    "- Sara leads design, Tom leads code", "- moved to a new flat\n- closer to work, 10 min "
    "walk\n- smaller kitchen\n- friendly neighbours", "- trip to the coast last weekend\n"
    "- rained Saturday, sunny Sunday\n- great seafood\n- want to go back in summer",
    "- cafe opening hours change from June\n- open 7am instead of 8am\n- closed Mondays\n"
    "- new breakfast menu", "- volunteer day at the animal shelter\n- 12 volunteers came\n"
    "- cleaned kennels, walked dogs\n- next one in two months", "- quarterly sales up 8%\n"
    "- online orders doubled\n- store visits down slightly\n- plan: more online ads",
    "- started learning guitar\n- practise 20 min a day\n- fingers hurt at first\n- can "
    "play three songs now", "- school fair Saturday\n- games, food stalls, raffle\n- money "
    "goes to new library books\n- volunteers needed", "- new recycling rules from next "
    "month\n- glass in separate bin\n- collection every other Tuesday\n- leaflets sent to "
    "all homes", "- hired two new nurses\n- night shifts less stretched\n- training starts "
    "next week\n- thanks to HR for quick hiring", "- tried a new bread recipe\n- overnight "
    "rise\n- crust too dark, lower the oven\n- crumb light and airy", "- app update released\n"
    "- faster loading\n- dark mode added\n- bug with login fixed", "- gym reopening after "
    "renovation\n- new weights area\n- longer hours\n- free trial week for friends",
    "- neighbourhood clean-up Sunday\n- meet 9am at the park gate\n- gloves and bags "
    "provided\n- coffee afterwards", "- visited grandparents\n- helped in the garden\n- heard "
    "old family stories\n- took photos of old letters", "- office move in April\n- new "
    "building across town\n- bigger meeting rooms\n- parking is limited", "- hiking club "
    "first meeting\n- 15 people signed up\n- monthly hikes planned\n- beginners welcome",
    "- library late fees removed\n- more people returning books\n- longer loan period "
    "trial\n- feedback form online",
)
JOBS = (
    "a part-time barista at a busy cafe", "a junior web developer at a small agency",
    "a delivery driver for a local grocery", "a receptionist at a dental clinic", "a summer "
    "camp counsellor", "a social media manager for a clothing brand", "a warehouse "
    "supervisor", "a bookkeeper for a family business", "a dog walker", "a night-shift nurse",
    "a sous chef at an Italian restaurant", "a museum tour guide", "a customer support agent "
    "for a software company", "a gardener for a large estate", "a data analyst at a "
    "startup", "a personal assistant to a busy executive", "a bike mechanic", "a primary "
    "school teaching assistant", "a hotel housekeeper", "a graphic designer", "a swimming "
    "instructor", "an IT technician for a school", "a sales representative for office "
    "furniture", "a lab technician", "a volunteer coordinator for a charity",
)
MEETINGS = (
    "a weekly team meeting", "a project kickoff", "a neighbourhood meeting about parking",
    "a quarterly sales review", "a one-hour workshop on time management", "a volunteer "
    "orientation", "a board meeting of a small charity", "a product launch planning meeting",
    "a retrospective after a project", "a first one-on-one with a new employee", "a wedding "
    "planning call", "a school reunion committee meeting", "a budget review", "a club's "
    "annual general meeting", "a design review", "a safety training session", "an onboarding "
    "day for new staff", "a hackathon opening session", "a town hall with employees",
    "a community clean-up planning meeting", "a first call with a new client", "a student "
    "council meeting", "a half-day strategy offsite", "a parents' evening",
)
PEOPLE = (  # bios
    "a nurse who runs marathons", "a software engineer who loves baking", "a high-school "
    "history teacher", "a freelance photographer", "a retired firefighter who volunteers",
    "a startup founder in renewable energy", "a jazz pianist", "a graphic designer",
    "a veterinarian", "a university student studying economics", "a chef who just opened "
    "her first restaurant", "a wildlife biologist", "a yoga instructor", "an indie game "
    "developer", "a librarian who writes mysteries", "a personal trainer", "a landscape "
    "architect", "a podcast host", "a data scientist", "a community organizer", "a potter "
    "who sells online", "a travel blogger", "a carpenter", "an accountant who coaches "
    "football", "a museum guide",
)
NOTICES = (  # after "Write a short notice ..."
    "asking people to clean up the office kitchen", "announcing that the lift will be out of "
    "service on Tuesday", "reminding residents to sort their recycling", "telling customers "
    "the shop will close early on Friday", "asking neighbours to keep the noise down after "
    "10 pm", "about a lost cat in the neighbourhood", "telling gym members about new opening "
    "hours", "reminding staff to lock the back door", "announcing a bake sale at school",
    "asking library visitors to keep their phones on silent", "warning that the floor is "
    "wet", "about a set of keys found in the lobby", "asking drivers not to park in front of "
    "the gate", "announcing free yoga in the park on Sunday", "telling customers the card "
    "machine is broken", "announcing a fire drill on Thursday", "asking people to return "
    "borrowed mugs", "telling visitors the museum cafe is closed for renovation", "asking "
    "hotel guests to reuse their towels", "telling students the exam room has moved",
    "announcing a change to the bus timetable", "asking dog owners to clean up after their "
    "dogs",
)
SURVEYS = (  # "Write five survey questions for ..."
    "customers of a coffee shop", "people who attended a conference", "employees about remote "
    "work", "parents about a school's lunch menu", "gym members", "users of a mobile app",
    "guests after a hotel stay", "students of an online course", "residents about a new bike "
    "lane", "volunteers after a charity event", "patients after a clinic visit", "readers of "
    "a newsletter", "shoppers at a farmers' market", "participants after a workshop",
    "neighbours about a community garden", "team members after a project", "visitors to a "
    "museum", "passengers after a train journey", "customers of a bike repair shop",
    "members of a hiking club",
)
OUTLINES = (  # held out: talk and essay topics
    "how cities can reduce traffic", "the history of video games", "why sleep matters for "
    "students", "the future of remote work", "how to start investing", "the role of libraries "
    "today", "plastic pollution", "what makes a good leader", "the importance of voting",
    "how social media changes friendship", "urban gardening", "electric scooters in cities",
    "why we should protect wetlands", "the science of habits", "the impact of streaming on "
    "music", "healthy eating on a budget", "the basics of personal budgeting", "space "
    "tourism", "team sports at school", "handling stress at work", "the rise of online "
    "learning", "artificial intelligence in everyday life", "protecting endangered species",
    "learning a second language as an adult", "the benefits of walking",
)
PASSIVE = (  # held out: sentences to put in the active voice
    "The report was written by the new intern.", "The window was broken by a football.",
    "The decision was made by the committee last week.", "The package will be delivered by "
    "the courier tomorrow.", "The results are being analysed by the team.", "The road was "
    "closed by the police after the storm.", "The prize was won by a first-year student.",
    "The meeting was cancelled by the manager.", "The book has been translated into ten "
    "languages by volunteers.", "The house was painted by my uncle last summer.", "The new "
    "rules were announced by the head teacher.", "The bridge was designed by a young "
    "engineer.", "The data was collected by researchers over two years.", "The trees were "
    "planted by volunteers in spring.", "The cake was baked by my grandmother.", "The email "
    "was sent to the whole company by the director.", "The concert was recorded by a local "
    "radio station.", "The bike was repaired by the shop in an hour.", "The contract will be "
    "signed by both sides on Monday.", "The museum is visited by thousands of tourists every "
    "year.",
)
# the phrasings of make_chat5.py's forms: form -> (phrasings, the slot list); held last
CODE = {
    "pyconcept": (("Explain {s} in Python with a short example.", "Can you teach me {s} in "
                   "Python, with an example?", "What's the point of {s} in Python? Show me "
                   "when to use it.", "Give me a beginner-friendly explanation of {s} in "
                   "Python."), "PY_CONCEPTS"),
    "error": (("I get this error in Python: `{s}`. What does it mean and how do I fix it?",
               "What does `{s}` mean in Python?", "My Python script crashes with `{s}`. How "
               "can I fix it?"), "ERRORS"),
    "pythonic": (("What's the most Pythonic way to {s}?", "In Python, what is the cleanest way "
                  "to {s}?", "Is there a built-in way in Python to {s}?"), "PYTHONIC"),
    "class": (("Write a Python class for {s}.", "Create a small Python class representing {s}.",
               "Show me a Python class that models {s}, with an example of using it."),
              "CLASSES"),
    "typehints": (("Add type hints and a docstring to this Python function:", "Add type "
                   "annotations to this function and explain each one:", "Document this "
                   "Python function with a docstring and type hints:", "Make this function "
                   "clearer with type hints and a Google-style docstring:"), "FUNCS"),
    "refactor": (("Refactor this Python code to be more Pythonic:", "Can you make this Python "
                  "code shorter and cleaner?", "Rewrite this Python code in idiomatic Python:",
                  "How would an experienced Python developer write this?"), "LOOPS"),
    "shell": (("What's the Linux command to {s}?", "How do I {s} from the terminal?", "Give me "
               "a shell one-liner to {s}."), "SHELL"),
    "algorithm": (("How does {s} work? Explain with a small example.", "Explain {s} step by "
                   "step, with Python code.", "Can you walk me through {s} and when to use "
                   "it?"), "ALGOS"),
    "choose": (("In Python, which data structure should I use to {s}?", "Should I use a list, "
                "a tuple, a set or a dict to {s}?", "What's the best Python container to {s}, "
                "and why?"), "CHOOSE"),
    "tooling": (("What's the usual way to {s} for a Python project?", "I'm new to Python "
                 "tooling. How do I {s}?", "Which tool should I use to {s} in Python, and "
                 "how?"), "TOOLING"),
    "tests": (("Write pytest unit tests for this Python function:", "Write a few unittest test "
               "cases for this function:", "How would I test this function? Write the "
               "tests:"), "FUNCS"),
    "git": (("How do I {s} in git?", "What's the git command to {s}?", "In git, how can I "
             "{s}?"), "GIT"),
}
KNOW = {
    "define": (("What is {s[1]} in {s[0]}?", "Can you define {s[1]} in {s[0]} and give an "
                "example?", "In {s[0]}, what is {s[1]}? Keep it short."), "DEFINE"),
    "mechanism": (("How does {s} work?", "Walk me through how {s} works.", "What goes on "
                   "inside {s} when it is used?"), "MECHANISMS"),
    "origin": (("Where does the word '{s}' come from?", "What is the origin of the word "
                "'{s}'?", "How did the word '{s}' get its meaning?"), "WORDS"),
    "tradition": (("How did the tradition of {s} begin?", "Where does the custom of {s} come "
                   "from?", "What is the origin of {s}?"), "TRADITIONS"),
    "examples": (("Name five {s}.", "Can you list a few {s}?", "Give me some examples of {s}.",
                  "What are some well-known {s}?"), "CATEGORIES"),
    "which": (("Which is {s[0]}, {s[1]} or {s[2]}?", "Between {s[1]} and {s[2]}, which is "
               "{s[0]}, and why?", "Which one is {s[0]}: {s[1]} or {s[2]}? Explain briefly."),
              "WHICH"),
    "role": (("What does {s} do?", "What does a typical working day look like for {s}?",
              "What skills do you need to work as {s}?"), "ROLES"),
    "uses": (("What is {s} used for?", "What would I use {s} for?", "How do people use {s}?"),
             "TOOLS"),
    "rules": (("What are the basic rules of {s}?", "How do you play {s}?", "How is {s} scored, "
               "and how do you win?"), "GAMES"),
    "invented": (("Who invented {s}, and when?", "How was {s} invented?", "What is the story "
                  "behind the invention of {s}?"), "INVENTIONS"),
    "idiom": (("What does the expression '{s}' mean?", "What does it mean when someone says "
               "'{s}'?", "How would I use '{s}' in a sentence, and what does it mean?"),
              "IDIOMS"),
    "whatif": (("What would happen if {s}?", "Imagine {s}. What would change?", "What if {s}? "
                "What would the effects be?"), "WHATIF"),
}
WRITE = {
    "slogan": (("Write a catchy slogan for {s}.", "Give me five tagline ideas for {s}.",
                "Come up with a short, memorable slogan for {s}."), "BUSINESSES"),
    "names": (("Suggest five names for {s}.", "I'm opening {s}. Can you suggest some names?",
               "Brainstorm catchy names for {s}."), "BUSINESSES"),
    "grammar": (("Fix the grammar and spelling:\n\n{s}", "Correct the mistakes in this "
                 "text:\n\n{s}", "Can you proofread this for me?\n\n{s}"), "ERRS"),
    "expand": (("Turn these notes into a short paragraph:\n\n{s}", "Expand these bullet points "
                "into a well-written paragraph:\n\n{s}", "Write a clear paragraph from these "
                "notes:\n\n{s}", "Write up these notes as flowing text:\n\n{s}"), "NOTES"),
    "job": (("Write a job posting for {s}.", "Draft a short job ad for {s}.", "Write a job "
             "listing for {s}, with duties and requirements."), "JOBS"),
    "agenda": (("Write an agenda for {s}.", "Draft a simple agenda for {s}, with times.",
                "Make a meeting agenda for {s}."), "MEETINGS"),
    "faq": (("Write a short FAQ for {s}.", "Write five frequently asked questions and answers "
             "for the website of {s}.", "Draft an FAQ section for {s}: five questions with "
             "short answers."), "BUSINESSES"),
    "bio": (("Write a short bio for {s}.", "Write a two-sentence professional bio for {s}.",
             "Write a friendly 'about me' paragraph for {s}."), "PEOPLE"),
    "notice": (("Write a short notice {s}.", "Write a sign {s}.", "Draft a polite announcement "
                "{s}."), "NOTICES"),
    "survey": (("Write five survey questions for {s}.", "Create a short feedback form for "
                "{s}.", "Write a short questionnaire for {s}."), "SURVEYS"),
    "outline": (("Write an outline for a short talk about {s}.", "Create an outline for a "
                 "five-paragraph essay on {s}.", "Give me a structured outline for a "
                 "presentation on {s}."), "OUTLINES"),
    "voice": (("Rewrite these sentences in the active voice:\n\n{s}", "Change these sentences "
               "from passive to active voice:\n\n{s}"), "PASSIVE"),
}
# fmt: on

if __name__ == "__main__":  # `--help`, and how many entries each list holds
    import argparse

    argparse.ArgumentParser(description=__doc__).parse_args()
    for name, value in sorted(globals().items()):
        if name.isupper() and isinstance(value, tuple | dict):
            print(f"{name}: {len(value)}")
