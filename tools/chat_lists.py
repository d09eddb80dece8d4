"""The slot lists of ``make_chat.py``'s chat forms (written for it, forty-eighth session)."""

# lists packed several to a line, as written:
# fmt: off
TASKS = (  # programming tasks, each after "to" ("Write a Go function to ...")
    "reverse a string", "count the words in a text", "find the largest number in a list",
    "read a CSV file", "check whether a number is prime", "remove duplicates from a list",
    "sort a list of names alphabetically", "check whether a word is a palindrome",
    "compute the factorial of a number", "print the first n Fibonacci numbers",
    "count how often each character appears in a string", "merge two sorted lists",
    "find the second smallest number in a list", "convert a temperature from Celsius to "
    "Fahrenheit", "read a text file line by line", "write a list of lines to a file",
    "check whether a string contains only digits", "compute the average of a list of numbers",
    "find the index of an item in a list", "capitalize the first letter of every word",
    "swap two variables", "compute the sum of the digits of a number",
    "check whether a year is a leap year", "flatten a nested list", "find the common elements "
    "of two lists", "split a sentence into words", "count the vowels in a string",
    "generate a random password", "convert a string to uppercase", "find the length of the "
    "longest word in a sentence", "remove whitespace from both ends of a string",
    "parse a date string", "get the current date and time", "rotate a list by k positions",
    "check whether two strings are anagrams", "convert a decimal number to binary",
    "find the greatest common divisor of two numbers", "implement binary search",
    "implement bubble sort", "count the lines in a file", "make an HTTP GET request",
    "parse a JSON string", "sum the numbers in a list", "find the minimum and maximum of a list",
    "reverse the order of words in a sentence", "replace every space in a string with a dash",
    "check whether a list is sorted", "compute the power of a number without a library",
    "group a list of words by their first letter", "print a multiplication table",
    "compute the area of a circle from its radius", "count the even numbers in a list",
    "filter out the negative numbers from a list", "find the most common word in a text",
    "validate an email address", "convert a list of strings to integers",
    "join a list of words with commas", "create a simple counter class",
    "read user input and print a greeting", "list the files in a directory",
)
LANGS = ("Python", "JavaScript", "Java", "C", "C++", "Go", "TypeScript", "Bash", "Ruby", "C#",
         "PHP", "Kotlin", "Rust")  # Rust: held out
SQL = (  # after "Write a SQL query to ..."
    "find all customers from Paris in a table customers(id, name, city)",
    "count the orders of each customer in a table orders(id, customer_id, total)",
    "find the five most expensive products in a table products(id, name, price)",
    "list the employees who earn more than 50000 in a table employees(id, name, salary)",
    "compute the average salary per department in a table employees(name, dept, salary)",
    "delete the rows with an empty email from a table users(id, name, email)",
    "find the duplicate emails in a table users(id, email)",
    "join the tables orders(id, customer_id) and customers(id, name) to show each order's "
    "customer name", "find the total sales per month in a table sales(id, day, amount)",
    "find the students with no grade in tables students(id, name) and grades(student_id, "
    "grade)", "update the price of the product with id 7 to 19.99 in a table products",
    "find the second highest salary in a table employees(id, salary)",
    "create a table for books with a title, an author and a year",
    "insert three rows into a table pets(name, species, age)",
    "find the cities with more than ten customers in a table customers(id, city)",
)
WEB = (  # after "Write the HTML and CSS for ..."
    "a centered login form", "a navigation bar with four links", "a simple contact form",
    "a card showing a product with its picture, name and price", "a two-column page layout",
    "a button that changes color when hovered", "a table of three people and their ages",
    "a footer with copyright text", "a responsive image gallery", "a pricing table with "
    "three plans", "a modal dialog box", "a to-do list page",
)
REGEX = (  # after "Write a regular expression that matches ..."
    "email addresses", "dates in the form YYYY-MM-DD", "US phone numbers like 555-123-4567",
    "five-digit zip codes", "hexadecimal color codes like #1a2b3c", "words that start with a "
    "capital letter", "IPv4 addresses", "URLs that start with http or https", "times in "
    "24-hour format like 23:59", "whole numbers with an optional minus sign", "lines that end "
    "with a question mark", "strings of exactly eight letters or digits", "repeated words "
    "like 'the the'", "prices like $4.99", "Python variable names",
)
CONCEPTS = (  # (a, b) for "What is the difference between a and b in programming?"
    ("a list", "a tuple in Python"), ("let", "const in JavaScript"), ("==", "=== in "
    "JavaScript"), ("a class", "an object"), ("a compiler", "an interpreter"), ("a stack",
    "a queue"), ("an array", "a linked list"), ("recursion", "iteration"), ("a process",
    "a thread"), ("SQL", "NoSQL databases"), ("GET", "POST requests"), ("pass by value",
    "pass by reference"), ("a function", "a method"), ("static", "dynamic typing"),
    ("git merge", "git rebase"), ("a library", "a framework"),
)
# (language, snippet, (text, buggy text)): the debug form replaces the text by the buggy one
SNIPPETS = (
    ("Python", "def total(xs):\n    s = 0\n    for x in xs:\n        s += x\n    return s",
     ("s += x", "s = x")),
    ("Python", "def is_even(n):\n    return n % 2 == 0", ("== 0", "== 1")),
    ("Python", "def largest(xs):\n    best = xs[0]\n    for x in xs:\n        if x > best:\n"
     "            best = x\n    return best", ("x > best", "x < best")),
    ("Python", "def reverse(s):\n    return s[::-1]", ("[::-1]", "[::1]")),
    ("Python", "def count_vowels(s):\n    return sum(1 for c in s.lower() if c in 'aeiou')",
     ("s.lower()", "s.upper()")),
    ("Python", "def factorial(n):\n    if n == 0:\n        return 1\n    return n * factorial("
     "n - 1)", ("n - 1)", "n)")),
    ("Python", "def average(xs):\n    return sum(xs) / len(xs)", ("/ len(xs)", "/ len(xs) + 1")),
    ("Python", "words = text.split()\ncounts = {}\nfor w in words:\n    counts[w] = counts.get("
     "w, 0) + 1", ("get(w, 0) + 1", "get(w, 0)")),
    ("Python", "for i in range(1, 11):\n    print(i * i)", ("range(1, 11)", "range(1, 10)")),
    ("Python", "def binary_search(xs, t):\n    lo, hi = 0, len(xs) - 1\n    while lo <= hi:\n"
     "        mid = (lo + hi) // 2\n        if xs[mid] == t:\n            return mid\n"
     "        if xs[mid] < t:\n            lo = mid + 1\n        else:\n            hi = mid - 1"
     "\n    return -1", ("lo = mid + 1", "lo = mid")),
    ("JavaScript", "function sum(arr) {\n  let s = 0;\n  for (let i = 0; i < arr.length; i++) "
     "{\n    s += arr[i];\n  }\n  return s;\n}", ("i < arr.length", "i <= arr.length")),
    ("JavaScript", "const evens = nums.filter(n => n % 2 === 0);", ("=== 0", "=== 1")),
    ("JavaScript", "function greet(name) {\n  return `Hello, ${name}!`;\n}",
     ("`Hello, ${name}!`", "'Hello, ${name}!'")),
    ("JavaScript", "const doubled = [1, 2, 3].map(x => x * 2);", ("x * 2", "x + 2")),
    ("JavaScript", "function max(a, b) {\n  return a > b ? a : b;\n}", ("a : b", "b : a")),
    ("C", "int sum(int *a, int n) {\n    int s = 0;\n    for (int i = 0; i < n; i++)\n"
     "        s += a[i];\n    return s;\n}", ("i < n", "i <= n")),
    ("C", "int factorial(int n) {\n    int r = 1;\n    for (int i = 2; i <= n; i++)\n"
     "        r *= i;\n    return r;\n}", ("int r = 1", "int r = 0")),
    ("C", "#include <stdio.h>\nint main(void) {\n    printf(\"Hello\\n\");\n    return 0;\n}",
     ("return 0;", "return 0")),
    ("Java", "public static int max(int[] a) {\n    int m = a[0];\n    for (int x : a)\n"
     "        if (x > m) m = x;\n    return m;\n}", ("x > m", "x < m")),
    ("Java", "String s = \"hello\";\nif (s.equals(\"hello\")) {\n    System.out.println(\"hi\");"
     "\n}", ("s.equals(\"hello\")", "s == \"hello\"")),
    ("Java", "for (int i = 0; i < 10; i++) {\n    System.out.println(i);\n}", ("i++", "i--")),
    ("Go", "func sum(xs []int) int {\n    s := 0\n    for _, x := range xs {\n        s += x\n"
     "    }\n    return s\n}", ("s += x", "s = x")),
    ("Go", "func isEven(n int) bool {\n    return n%2 == 0\n}", ("== 0", "!= 0")),
    ("Go", "for i := 0; i < len(names); i++ {\n    fmt.Println(names[i])\n}",
     ("i < len(names)", "i <= len(names)")),
    ("Bash", "for f in *.txt; do\n  echo \"$f\"\ndone", ("done", "end")),
    ("Bash", "count=$(wc -l < data.csv)\necho \"lines: $count\"", ("$(wc", "(wc")),
    ("Rust", "fn sum(v: &[i32]) -> i32 {\n    let mut s = 0;\n    for x in v {\n        s += x;\n"
     "    }\n    s\n}", ("let mut s", "let s")),
    ("Rust", "fn is_even(n: u32) -> bool {\n    n % 2 == 0\n}", ("== 0", "== 1")),
    ("Rust", "fn largest(v: &[i32]) -> i32 {\n    let mut m = v[0];\n    for &x in v {\n"
     "        if x > m { m = x; }\n    }\n    m\n}", ("x > m", "x < m")),
    ("SQL", "SELECT name, COUNT(*) FROM orders\nGROUP BY name\nHAVING COUNT(*) > 5;",
     ("HAVING", "WHERE")),
)
# knowledge topics by kind (kinds pick the forms that fit them)
NATURE = (
    "rainbows", "tides", "earthquakes", "volcanoes", "lightning", "thunderstorms", "hurricanes",
    "tornadoes", "the seasons", "photosynthesis", "the water cycle", "clouds", "snowflakes",
    "the northern lights", "eclipses", "the phases of the Moon", "gravity", "magnetism",
    "black holes", "stars", "comets", "the Big Bang", "evolution", "bird migration",
    "hibernation", "coral reefs", "rainforests", "deserts", "glaciers", "ocean currents",
    "the ozone layer", "climate change", "erosion", "fossils", "dinosaurs", "bees", "ants",
    "whales", "octopuses", "fungi", "the food chain", "plate tectonics", "static electricity",
    "sound waves", "rust", "fire", "the speed of light", "ice ages", "monsoons", "soil",
)
BODY = (
    "vaccines", "the immune system", "the heart", "blood types", "sleep", "dreams", "memory",
    "the brain", "muscles", "bones", "digestion", "allergies", "fever", "antibiotics",
    "vitamins", "dehydration", "the common cold", "hiccups", "yawning", "goosebumps",
    "eyesight", "hearing", "the kidneys", "DNA", "stress",
)
THING = (
    "the internet", "electricity", "batteries", "refrigerators", "microwave ovens",
    "airplanes", "GPS", "smartphones", "solar panels", "wind turbines", "nuclear power",
    "electric cars", "the printing press", "the telephone", "radio", "television", "computers",
    "artificial intelligence", "Wi-Fi", "email", "passwords", "encryption", "credit cards",
    "inflation", "interest rates", "the stock market", "taxes", "recycling", "plastic",
    "glass", "paper", "soap", "coffee", "bread", "cheese", "chocolate", "tea", "money",
    "elections", "democracy", "the Olympic Games", "calendars", "time zones", "maps",
    "compasses", "bicycles", "trains", "bridges", "skyscrapers", "cement", "3D printing",
    "cloud computing", "social media", "search engines", "barcodes",
)
EVENT = (
    "the French Revolution", "the American Revolution", "the Industrial Revolution",
    "the Renaissance", "the Roman Empire", "ancient Egypt", "ancient Greece", "the Silk Road",
    "the Black Death", "the Cold War", "World War I", "World War II", "the Moon landing",
    "the fall of the Berlin Wall", "the invention of writing", "the Vikings", "the Aztecs",
    "the Inca Empire", "the Ming dynasty", "the Ottoman Empire", "the age of exploration",
    "the abolition of slavery", "the women's suffrage movement", "the civil rights movement",
    "the Great Depression", "the printing revolution", "the space race",
    "the Meiji Restoration", "the Magna Carta", "the Stone Age", "the Bronze Age",
    "the Mongol Empire", "the Protestant Reformation", "the Scientific Revolution",
    "the Gold Rush", "the founding of the United Nations", "the building of the pyramids",
    "the Great Wall of China", "the partition of India", "the Apollo program",
)
PLACE = (
    "the Amazon River", "the Sahara", "Mount Everest", "the Pacific Ocean", "Antarctica",
    "the Nile", "the Himalayas", "the Grand Canyon", "the Great Barrier Reef", "Iceland",
    "the Alps", "the Dead Sea", "the Arctic", "Japan", "Australia", "the Mediterranean Sea",
    "the Andes", "Madagascar", "the Mississippi River", "Venice", "the Galapagos Islands",
    "Greenland", "the Caribbean", "the Rocky Mountains", "Siberia", "the Panama Canal",
    "the equator", "Hawaii", "the Gobi Desert", "Lake Baikal",
)
PAIRS = (  # "What is the difference between {a} and {b}?"
    ("weather", "climate"), ("viruses", "bacteria"), ("a comet", "an asteroid"), ("a frog",
    "a toad"), ("a crocodile", "an alligator"), ("speed", "velocity"), ("mass", "weight"),
    ("a meteor", "a meteorite"), ("a hurricane", "a typhoon"), ("an ape", "a monkey"),
    ("a fruit", "a vegetable"), ("a lake", "a pond"), ("a country", "a continent"),
    ("a democracy", "a republic"), ("AC", "DC current"), ("RAM", "storage"), ("a star",
    "a planet"), ("an atom", "a molecule"), ("a cold", "the flu"), ("baking soda",
    "baking powder"), ("a virus", "a worm in computing"), ("a moth", "a butterfly"),
    ("sunrise", "dawn"), ("a sea", "an ocean"), ("empathy", "sympathy"), ("a hill",
    "a mountain"), ("a tortoise", "a turtle"), ("an epidemic", "a pandemic"),
)
CAUSED = (  # the topics "What causes ...?" fits
    "rainbows", "tides", "earthquakes", "volcanoes", "lightning", "thunderstorms", "hurricanes",
    "tornadoes", "the seasons", "the northern lights", "eclipses", "the phases of the Moon",
    "erosion", "climate change", "ice ages", "monsoons", "rust", "static electricity",
    "ocean currents", "allergies", "fever", "dehydration", "the common cold", "hiccups",
    "yawning", "goosebumps", "stress", "inflation", "dreams",
)
# writing and advice
ACTIVITIES = (
    "staying focused while studying", "saving money on groceries", "sleeping better",
    "starting to run", "keeping a small apartment tidy", "preparing for a job interview",
    "learning a new language", "making friends in a new city", "cooking for a large group",
    "traveling with a small budget", "working from home", "taking better photos with a phone",
    "keeping houseplants alive", "giving a good presentation", "drinking more water",
    "reading more books", "packing for a weekend trip", "writing a good resume",
    "staying calm before an exam", "planning a birthday party", "learning to play the guitar",
    "reducing screen time", "eating more vegetables", "organizing a closet",
    "training a new puppy", "staying safe online", "getting up early", "moving house",
    "hosting a dinner party", "starting a vegetable garden",
)
GOALS = (
    "get better at public speaking", "stop procrastinating", "build a morning routine",
    "learn to cook simple meals", "pay off a small debt", "improve my handwriting",
    "be more productive at work", "get fit without a gym", "remember names better",
    "write a book", "become a better listener", "spend less on clothes", "learn to swim",
    "make my commute less boring", "keep a journal", "manage my time as a student",
    "prepare for a marathon", "waste less food", "get along with a difficult coworker",
    "learn to draw", "save for a holiday", "eat less sugar", "sleep eight hours a night",
    "make my desk less cluttered", "read faster", "call my family more often",
    "stay motivated to exercise", "cook more at home", "stop checking my phone in bed",
    "learn to type faster",
)
CHOICES = (
    "working from home", "buying a used car", "renting an apartment", "learning to code",
    "owning a cat", "owning a dog", "living in a big city", "taking a gap year",
    "studying abroad", "freelancing", "using public transport", "buying an electric car",
    "going to university", "shopping online", "cooking at home every day", "a four-day work "
    "week", "homeschooling", "living alone", "a standing desk", "learning an instrument",
    "buying a house", "a smartwatch", "taking night classes", "starting a small business",
    "moving to the countryside", "wearing a school uniform", "e-books", "camping holidays",
    "online dating", "a vegetarian diet",
)
OCCASIONS = (
    "a rainy weekend", "a child's birthday party", "a team-building day", "a first date",
    "a family reunion", "a gift for a coworker", "a science fair project", "a school fundraiser",
    "a summer picnic", "a cheap date night", "a retirement party", "a book club meeting",
    "a holiday at home", "a classroom game", "a healthy breakfast", "a road trip playlist",
    "a baby shower", "a garden party", "a quiet Sunday", "a work lunch",
)
EMAILS = (  # (to whom, about what)
    ("my landlord", "a broken heater"), ("my manager", "taking Friday off"),
    ("a teacher", "my child missing school"), ("a customer", "a late delivery"),
    ("my team", "a meeting moved to Monday"), ("a friend", "returning a borrowed book"),
    ("a neighbour", "a parcel I received for them"), ("a hotel", "changing a booking"),
    ("a coworker", "thanking them for their help"), ("a client", "a price increase"),
)
HOWTO = (  # after "Explain how to ... step by step."
    "change a flat bicycle tire", "boil an egg", "make a budget", "write a cover letter",
    "clean a laptop keyboard", "set up a new email account", "plant a tree", "iron a shirt",
    "make pancakes", "back up the photos on a phone", "tie a tie", "apply for a passport",
    "make a cup of tea", "wash a car", "paint a wall", "unclog a sink", "start a podcast",
    "sew on a button", "hang a picture", "make a paper airplane",
)
PARAGRAPHS = (
    "Many people find it hard to wake up early. Experts say the problem is often not the alarm "
    "but the evening: screens, late meals and irregular bedtimes all push sleep later. Going "
    "to bed at the same time each night is the simplest fix.",
    "The town library will close for two weeks in March while its roof is repaired. Books "
    "can still be returned at the drop box by the front door, and the mobile library will "
    "visit the market square every Saturday morning.",
    "Cycling to work has grown popular in the city. New bike lanes have made the roads safer, "
    "and many riders say they arrive more awake than when they drove. Some still worry about "
    "rain and about where to leave their bikes.",
    "Our team finished the project a week early. The new planning board helped everyone see "
    "what was left, and daily ten-minute meetings caught problems before they grew. We plan to "
    "keep both habits for the next project.",
    "Honeybees live in colonies of thousands. A single queen lays the eggs, workers gather "
    "nectar and pollen, and drones exist mainly to mate. Without bees, many crops would "
    "produce far less fruit.",
    "The new phone has a larger screen and a battery that lasts two days. Its camera is "
    "better in low light, but it is heavier than last year's model and costs more. Most "
    "reviewers say it is worth it only for heavy users.",
    "Drinking enough water matters more than most people think. Even mild dehydration can "
    "cause headaches and tiredness. A simple rule is to drink a glass with every meal and "
    "carry a bottle during the day.",
    "The school will try a four-day week next term. Lessons will be longer on the remaining "
    "days, and Fridays will be used for clubs and extra help. Parents are asked to share their "
    "views before the end of the month.",
    "Composting turns kitchen scraps into rich soil. Fruit peels, coffee grounds and eggshells "
    "can all go in, but meat and dairy should stay out. After a few months the pile becomes "
    "dark, crumbly compost for the garden.",
    "Our company has changed its holiday policy. Staff can now carry up to five unused days "
    "into the next year, and requests should be made at least two weeks in advance through "
    "the new online form.",
    "Learning a language as an adult is slower than as a child, but adults have advantages: "
    "they can study grammar on purpose and use apps and books. Short daily practice works "
    "better than long weekly sessions.",
    "The storm knocked out power to about two thousand homes last night. Crews worked through "
    "the night, and most houses had electricity again by morning. The council asks residents "
    "to report fallen trees.",
    "Remote work has changed how offices are used. Many companies now keep smaller offices "
    "with shared desks, and teams come in two or three days a week to meet. Others have "
    "closed their offices altogether.",
    "A healthy breakfast does not need to take long. Oats with fruit, yogurt with nuts, or "
    "wholegrain toast with an egg each take under five minutes and keep you full until lunch.",
)
# the phrasings of make_chat.py's forms (two each); held-out forms last, as make_chat.HELD says
CODE = {  # code: form -> phrasings ({lang}, {task}; {x} {y} a concept pair or a target language)
    "function": ("Write a {lang} function to {task}.", "Can you write a {lang} function to "
                 "{task}?"),
    "howto": ("How do I {task} in {lang}?", "Show me how to {task} in {lang}."),
    "program": ("Write a short {lang} program to {task}.", "Write {lang} code to {task}, with "
                "comments."),
    "sql": ("Write a SQL query to {task}.", "How do I {task} with SQL?"),
    "regex": ("Write a regular expression that matches {task}.", "Give me a regex for {task}, "
              "and explain it."),
    "web": ("Write the HTML and CSS for {task}.", "How do I make {task} with HTML and CSS?"),
    "concept": ("What is the difference between {x} and {y}?", "Explain the difference between "
                "{x} and {y}."),
    "explain": ("Explain what this {lang} code does:", "What does this {lang} code do?"),
    "debug": ("This {lang} code has a bug. Find it and fix it:", "Why doesn't this {lang} code "
              "work?"),
    "translate": ("Translate this {lang} code to {y}:", "Rewrite this {lang} code in {y}:"),
    "complexity": ("What is the time complexity of this {lang} code?", "What is the Big O of "
                   "this {lang} code? Explain briefly."),
}
KNOW = {  # knowledge: form -> (phrasings, the topic lists it fits; None: all five kinds)
    "simple": (("Explain {t} in simple terms.", "Can you explain {t} simply?"), None),
    "tell": (("Tell me about {t}.", "What do you know about {t}?"), None),
    "overview": (("Give me a short overview of {t}.", "Summarize what is known about {t}."),
                 None),
    "facts": (("What are the most important facts about {t}?", "Give me five interesting "
               "facts about {t}."), None),
    "science": (("What is the science behind {t}?", "How do scientists explain {t}?"),
                ("NATURE", "BODY", "THING")),
    "causes": (("What causes {t}?", "Why do we get {t}?"), ("CAUSED",)),
    "history": (("What is the history of {t}?", "How did {t} develop over time?"),
                ("THING", "PLACE")),
    "significance": (("What was the significance of {t}?", "What were the causes of {t}?"),
                     ("EVENT",)),
    "place": (("Where is {t}, and what is it known for?", "What is special about {t}?"),
              ("PLACE",)),
    "difference": (("What is the difference between {x} and {y}?", "How is {x} different "
                    "from {y}?"), ("PAIRS",)),
    "child": (("Explain {t} to a ten-year-old.", "How would you explain {t} to a child?"), None),
    "misconceptions": (("What are some common misconceptions about {t}?", "What do people "
                        "often get wrong about {t}?"), None),
}
WRITE = {  # writing and advice: form -> (phrasings, the slot list)
    "tips": (("Give me three tips for {s}.", "What are your best tips for {s}?",
             "Any tips for {s}?"), "ACTIVITIES"),
    "summarize": (("Summarize the following paragraph in one sentence:\n\n{s}", "Can you "
                   "summarize this in two sentences?\n\n{s}"), "PARAGRAPHS"),
    "advice": (("How can I {s}?", "I want to {s}. Any advice?",
               "What's the best way to {s}?"), "GOALS"),
    "email": (("Write a short email to {s[0]} about {s[1]}.", "Help me write a polite email to "
               "{s[0]} about {s[1]}.", "Email {s[0]} about {s[1]}, short and friendly."),
              "EMAILS"),
    "message": (("Write a short text message to {s[0]} about {s[1]}.", "Draft a friendly note "
                 "to {s[0]} about {s[1]}."), "EMAILS"),
    "checklist": (("Make a checklist for {s}.", "Write a to-do list for {s}.",
                  "Give me a simple checklist for {s}."), "ACTIVITIES"),
    "ideas": (("Give me five ideas for {s}.", "Suggest some ideas for {s}.",
              "I need ideas for {s}. What do you suggest?"), "OCCASIONS"),
    "rewrite": (("Rewrite the following paragraph to make it more formal:\n\n{s}", "Make this "
                 "paragraph simpler and shorter:\n\n{s}"), "PARAGRAPHS"),
    "steps": (("Explain how to {s} step by step.", "What are the steps to {s}?",
              "How do I {s}? Walk me through it."), "HOWTO"),
    "plan": (("Suggest a simple weekly plan to help me {s}.", "Make a 7-day plan for me to "
              "{s}.", "Help me plan a month to {s}."), "GOALS"),
    "pros_cons": (("What are the pros and cons of {s}?", "Should I consider {s}? List the pros "
                   "and cons."), "CHOICES"),
    "main_points": (("List the main points of this paragraph:\n\n{s}", "What are the key "
                     "takeaways from this text?\n\n{s}"), "PARAGRAPHS"),
}
# fmt: on

if __name__ == "__main__":  # `--help`, and how many entries each list holds
    import argparse

    argparse.ArgumentParser(description=__doc__).parse_args()
    for name, value in sorted(globals().items()):
        if name.isupper() and isinstance(value, tuple | dict):
            print(f"{name}: {len(value)}")
